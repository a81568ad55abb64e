// The Hono app: wiring of middleware and routes, and the single error mapping (`onError`).
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { InferenceEngine } from '../src/index.ts';
import type { Admission } from './admission.ts';
import type { ServerConfig } from './config.ts';
import type { AppEnv } from './env.ts';
import { ApiError, errorBody, toApiError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { accessLog } from './middleware/access-log.ts';
import { apiKeyAuth } from './middleware/auth.ts';
import { chatCompletions } from './routes/chat.ts';
import { completions } from './routes/completions.ts';
import { embeddings } from './routes/embeddings.ts';
import { messages } from './routes/messages.ts';
import { responses } from './routes/responses.ts';
import { rerank } from './routes/rerank.ts';
import { anthropicErrorBody } from './format/messages.ts';
import { sample } from './routes/sample.ts';
import { isSleeping, sleep, wakeup } from './routes/sleep.ts';
import { detokenize, tokenize } from './routes/tokenize.ts';

export interface AppDeps {
  /** A promise while the model loads: /health answers 503 and model routes UNAVAILABLE meanwhile. */
  engine: InferenceEngine | Promise<InferenceEngine>;
  config: ServerConfig;
  metrics: Metrics;
  logger: Logger;
  /** Names the model answers to; the first is its id (`--model-id`). */
  modelNames: readonly string[];
  admission: Admission;
}

const knownPaths = new Set([
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/messages',
  '/v1/responses',
  '/v1/embeddings',
  '/v1/rerank',
  '/rerank',
  '/v2/rerank',
  '/v1/sample',
  '/v1/models',
  '/health',
  '/ready',
  '/metrics',
  '/tokenize',
  '/detokenize',
  '/sleep',
  '/wakeup',
  '/is_sleeping',
]);

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { admission } = deps;
  const created = Math.floor(Date.now() / 1000);
  const model = loadState(deps.engine, deps.metrics, deps.logger, deps.modelNames[0]!);
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    c.set('config', deps.config);
    c.set('metrics', deps.metrics);
    c.set('logger', deps.logger);
    c.set('admission', admission);
    c.set('modelNames', deps.modelNames);
    await next();
  });
  app.use(accessLog(knownPaths));
  if (deps.config.apiKey) app.use(apiKeyAuth(deps.config.apiKey));
  app.use(
    bodyLimit({
      maxSize: deps.config.maxBodyBytes,
      onError: () => {
        throw new ApiError(413, 'INVALID_ARGUMENT', `The request body is larger than ${deps.config.maxBodyBytes} bytes.`);
      },
    }),
  );

  const withEngine: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!model.engine) throw new ApiError(503, 'UNAVAILABLE', model.failed ? 'The model failed to load.' : 'The model is still loading.');
    c.set('engine', model.engine);
    await next();
  };

  /** Why the server cannot answer generation requests now, or null when it can. */
  const unavailable = (): string | null => {
    if (admission.draining) return 'shutting down';
    if (!model.engine) return model.failed ? 'model failed to load' : 'model is loading';
    return null;
  };
  // /health: the process and its model are up (xLLM's answer). /ready: it should be sent
  // traffic now, for a balancer's readiness probe: also not while the model sleeps.
  app.get('/health', (c) => {
    const reason = unavailable();
    return reason === null ? c.json({ status: 'healthy' }) : c.json({ status: 'unhealthy', reason }, 503);
  });
  app.get('/ready', (c) => {
    const reason = unavailable() ?? (model.engine!.stats().sleeping ? 'sleeping' : null);
    return reason === null ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready', reason }, 503);
  });
  app.get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }));
  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: deps.modelNames.map((id) => ({ id, object: 'model', created, owned_by: 'xllm' })) }),
  );
  // An embedding model (--task embed) has no logits: the generating routes refuse at once.
  const generates: MiddlewareHandler<AppEnv> = async (_c, next) => {
    if (deps.config.task === 'embed') throw new ApiError(400, 'INVALID_ARGUMENT', 'this server serves embeddings (--task embed): it does not generate; use /v1/embeddings', 'model');
    await next();
  };
  app.post('/v1/chat/completions', withEngine, generates, chatCompletions);
  app.post('/v1/completions', withEngine, generates, completions);
  app.post('/v1/messages', withEngine, generates, messages);
  app.post('/v1/responses', withEngine, generates, responses);
  app.post('/v1/embeddings', withEngine, embeddings);
  for (const path of ['/v1/rerank', '/rerank', '/v2/rerank']) app.post(path, withEngine, rerank);
  app.post('/v1/sample', withEngine, generates, sample);
  app.post('/tokenize', withEngine, tokenize);
  app.post('/detokenize', withEngine, detokenize);
  app.post('/sleep', withEngine, sleep);
  app.post('/wakeup', withEngine, wakeup);
  app.get('/is_sleeping', isSleeping);

  app.notFound(() => {
    throw new ApiError(404, 'UNKNOWN', 'No such endpoint.');
  });
  app.onError((error, c) => {
    const api = toApiError(error);
    if (api.status === 500) {
      // The message of an unexpected error may quote request data: log where, not what.
      deps.logger.error('internal_error', {
        request_id: c.var.requestId,
        error: error instanceof Error ? error.name : typeof error,
        at: error instanceof Error ? error.stack?.split('\n')[1]?.trim() : undefined,
      });
    }
    // 499 (client closed) is nginx's, absent from Hono's status union.
    const body = c.req.path === '/v1/messages' ? anthropicErrorBody(api) : errorBody(api);
    return c.json(body, api.status as ContentfulStatusCode);
  });
  return app;
}

interface ModelState {
  engine?: InferenceEngine;
  failed: boolean;
}

function loadState(source: InferenceEngine | Promise<InferenceEngine>, metrics: Metrics, logger: Logger, modelName: string): ModelState {
  const state: ModelState = { failed: false };
  const ready = (engine: InferenceEngine) => {
    state.engine = engine;
    metrics.watchEngine(() => engine.stats(), { name: modelName, maxModelLen: engine.maxModelLen });
  };
  if (source instanceof Promise) {
    source.then(ready, (error: unknown) => {
      state.failed = true;
      logger.error('model_load_failed', { error: error instanceof Error ? error.message : String(error) });
    });
  } else ready(source);
  return state;
}
