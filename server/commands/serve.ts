// `xllm serve`: find the model (converting a Hugging Face checkpoint once), load the engine,
// listen, log, and shut down gracefully on SIGTERM/SIGINT (stop accepting, let in-flight
// requests finish by the deadline, cancel the rest).
import { basename, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { Engine, VERSION, hasVision, readManifest, type ModelManifest } from '../../src/index.ts';
import { Admission } from '../admission.ts';
import { createApp } from '../app.ts';
import { ConfigError, parseServeArgs, serveHelp, type ServerConfig } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';

export async function main(argv: string[]): Promise<number> {
  let config: ServerConfig;
  try {
    const parsed = parseServeArgs(argv);
    if (parsed.action === 'help') {
      console.log(serveHelp());
      return 0;
    }
    if (parsed.action === 'version') {
      console.log(`xllm-ts ${VERSION}`);
      return 0;
    }
    config = parsed.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`xllm serve: ${error.message}`);
    return 2;
  }
  const logger = createLogger(config.logLevel, config.logFormat);
  let modelDir: string;
  try {
    modelDir = config.model ? await servedModelDir(config, logger) : await defaultModelDir(logger, config);
  } catch (error) {
    console.error(`xllm serve: ${(error as Error).message}`);
    return 1;
  }
  const refusal = modelRefusal(config, modelDir);
  if (refusal) {
    console.error(`xllm serve: ${refusal}`);
    return 2;
  }
  const metrics = createMetrics();
  const admission = new Admission(config.maxConcurrentRequests);
  const loadStarted = performance.now();
  const engine = Engine.load(modelDir, {
    device: config.device,
    runtime: config.runtime,
    int4Kernel: config.int4Kernel,
    threads: config.threads,
    maxBatchSize: config.maxBatchSize,
    maxModelLen: config.maxModelLen,
    enablePrefixCache: config.enablePrefixCache,
    prefillChunkTokens: config.maxNumBatchedTokens,
    maxDecodeSlowdown: config.maxDecodeSlowdown,
    observer: metrics.observer,
  });
  // As in vLLM, the first --served-model-name is the id unless --model-id names it.
  const modelId = config.modelId ?? config.servedModelNames[0] ?? basename(resolve(config.model ?? modelDir));
  const modelNames = [modelId, ...config.servedModelNames.filter((name) => name !== modelId)];
  const app = createApp({ engine, config, metrics, logger, modelNames, admission });

  return new Promise<number>((done) => {
    const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) =>
      logger.info('listening', { host: config.host, port: info.port, model: modelNames[0] }),
    );
    server.on('error', (error: NodeJS.ErrnoException) => {
      logger.error('listen_failed', { code: error.code, message: error.message });
      done(1);
    });
    let stopping = false;
    const stop = async (signal: string, exitCode: number) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutdown', { signal, in_flight: admission.count, deadline_s: config.shutdownTimeoutSeconds });
      admission.draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const finished = await Promise.race([
        admission.idle().then(() => true),
        delay(config.shutdownTimeoutSeconds * 1000).then(() => false),
      ]);
      if (!finished) {
        logger.warn('shutdown_cancelling', { in_flight: admission.count });
        admission.cancelAll('the server is shutting down');
        await Promise.race([admission.idle(), delay(5000)]);
      }
      // Responses that just ended may still be flushing: close connections as they go idle.
      const closeIdle = setInterval(() => 'closeIdleConnections' in server && server.closeIdleConnections(), 50);
      await Promise.race([closed, delay(2000)]);
      clearInterval(closeIdle);
      if ('closeAllConnections' in server) server.closeAllConnections();
      await engine.then((e) => e.close()).catch(() => undefined);
      logger.info('stopped', {});
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      done(exitCode);
    };
    const onTerm = () => void stop('SIGTERM', 0);
    const onInt = () => void stop('SIGINT', 0);
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    engine.then(
      (e) => logger.info('model_loaded', { model: modelNames[0], device: e.device, device_reason: e.deviceReason, runtime: e.runtime, int4_kernel: e.int4Kernel?.kernel, int4_kernel_reason: e.int4Kernel?.reason, threads: e.threads, max_model_len: e.maxModelLen, load_ms: Math.round(performance.now() - loadStarted) }),
      () => void stop('model_load_failed', 1),
    );
  });
}

/**
 * The directory to load for --model: a converted model as it is; a Hugging Face checkpoint
 * converted once into the cache (reused on later starts), with progress as it goes.
 */
async function servedModelDir(config: ServerConfig, logger: Logger): Promise<string> {
  const dir = resolve(config.model!);
  const { convertedCheckpoint, isConvertedModel, isHuggingFaceCheckpoint } = await import('../../models/checkpoint-cache.ts');
  if (isConvertedModel(dir)) return dir;
  if (!isHuggingFaceCheckpoint(dir)) {
    throw new Error(`${dir} holds neither a converted model (xllm.json) nor a Hugging Face checkpoint (config.json with model.safetensors or model.safetensors.index.json)`);
  }
  const dtype = config.dtype === 'auto' ? (config.device === 'cuda' || config.device === 'webgpu' ? 'fp16' : 'int4') : config.dtype;
  const started = performance.now();
  const progress = conversionProgress(logger, dir);
  let result;
  try {
    result = convertedCheckpoint(dir, dtype, progress.update, config.task === 'embed' ? 'embed' : 'generate');
  } catch (error) {
    throw new Error(`cannot convert the checkpoint ${dir}: ${(error as Error).message}`);
  } finally {
    progress.end();
  }
  logger.info(result.reused ? 'checkpoint_cached' : 'checkpoint_converted', {
    checkpoint: dir,
    converted: result.dir,
    dtype,
    task: config.task === 'embed' ? 'embed' : 'generate',
    ms: Math.round(performance.now() - started),
  });
  return result.dir;
}

/** A progress bar on a terminal (stderr), else a log line every 10 %. */
function conversionProgress(logger: Logger, dir: string): { update(done: number, total: number): void; end(): void } {
  const bar = process.stderr.isTTY;
  let logged = -1;
  let drawn = false;
  const gb = (bytes: number) => (bytes / 1e9).toFixed(2);
  return {
    update(done, total) {
      const fraction = total > 0 ? done / total : 1;
      if (bar) {
        const width = 30;
        const filled = Math.round(fraction * width);
        process.stderr.write(`\rconverting ${basename(dir)} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)} % (${gb(done)} of ${gb(total)} GB)`);
        drawn = true;
      } else if (Math.floor(fraction * 10) > logged) {
        logged = Math.floor(fraction * 10);
        logger.info('convert_progress', { checkpoint: dir, percent: logged * 10 });
      }
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

async function defaultModelDir(logger: Logger, config: ServerConfig): Promise<string> {
  const { ensureModel } = await import('../../models/recipe.ts');
  const name = config.backend === 'vlm' ? 'tiny-vl' : 'tiny';
  const embed = config.task === 'embed' && config.backend === 'llm';
  logger.info('default_model', { note: `no --model given: serving the built-in ${name} model${embed ? ' converted for embeddings' : ''} (generated on first use)` });
  return ensureModel(name, embed ? 'embed' : 'fp32');
}

/**
 * Why the flags cannot serve the model in `dir`, if they cannot. A vision-language model on
 * the llm backend is refused rather than served text-only: a server that silently turns every
 * image away is worse than being told the flag at start-up. Likewise an embedding graph
 * without --task embed, and the other way round. An unreadable manifest is left to the model
 * load, which reports it.
 */
function modelRefusal(config: ServerConfig, dir: string): string | null {
  let manifest: ModelManifest;
  try {
    manifest = readManifest(dir);
  } catch {
    return null;
  }
  const { architecture } = manifest;
  const visionLanguage = hasVision(manifest);
  if (config.backend === 'vlm' && !visionLanguage) return `--backend vlm needs a vision-language model, and ${dir} holds a text model (${architecture}): serve it with --backend llm`;
  if (config.backend === 'llm' && visionLanguage) return `${dir} holds a vision-language model (${architecture}): serve it with --backend vlm`;
  const embedding = manifest.embedding !== undefined;
  if (config.task === 'embed' && !embedding) return `--task embed needs a model converted for embeddings, and ${dir} outputs logits: convert it with xllm convert --task embed (or serve its Hugging Face checkpoint with --task embed)`;
  if (config.task !== 'embed' && embedding) return `${dir} holds a model converted for embeddings: serve it with --task embed`;
  if (config.pooling && config.task !== 'embed') return '--pooling applies to --task embed only';
  return null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
