// Starts the real server (real engine on the tiny model, real socket on a free port). The engine
// loads once per test process and is shared by every server a test file starts.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Engine } from '../../src/engine/engine.ts';
import { ensureModel } from '../../models/recipe.ts';
import { Admission } from '../../server/admission.ts';
import { createApp } from '../../server/app.ts';
import { defaultConfig, type ServerConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { createMetrics, type Metrics } from '../../server/metrics.ts';

export const MODEL = 'qwen2-tiny';
export const MAX_MODEL_LEN = 256;

let shared: Promise<{ engine: Engine; metrics: Metrics }> | undefined;

/** One engine for the whole test process; its observer feeds the first metrics registry. */
export function sharedEngine(): Promise<{ engine: Engine; metrics: Metrics }> {
  shared ??= (async () => {
    const metrics = createMetrics();
    const engine = await Engine.load(ensureModel('tiny', 'fp32'), { maxBatchSize: 4, maxModelLen: MAX_MODEL_LEN, threads: 1, observer: metrics.observer });
    return { engine, metrics };
  })();
  return shared;
}

/** An engine of its own on the tiny model with room for tool prompts (the shared one holds 256 tokens). */
export function loadLongContextEngine(): Promise<Engine> {
  return Engine.load(ensureModel('tiny', 'fp32'), { maxBatchSize: 4, maxModelLen: 1024, threads: 1 });
}

export interface TestServer {
  url: string;
  admission: Admission;
  metrics: Metrics;
  /** Every JSON log line the server wrote. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * @param ownEngine serve this engine instead of the shared tiny one
 * @param ownMetrics the metrics that engine reports to (default: fresh ones)
 */
export async function startServer(overrides: Partial<ServerConfig> = {}, ownEngine?: Engine, ownMetrics?: Metrics): Promise<TestServer> {
  const { engine, metrics } = ownEngine ? { engine: ownEngine, metrics: ownMetrics ?? createMetrics() } : await sharedEngine();
  const config: ServerConfig = { ...defaultConfig, ...overrides };
  const logs: string[] = [];
  const admission = new Admission(config.maxConcurrentRequests);
  const app = createApp({
    engine,
    config,
    metrics,
    logger: createLogger('debug', 'json', (line) => logs.push(line)),
    modelNames: [MODEL, 'alias-model'],
    admission,
  });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    admission,
    metrics,
    logs,
    close: () =>
      new Promise((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** The `data:` payloads of an SSE body, in order (`[DONE]` kept as the string). */
export function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice(6))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}

/** Waits until `check` holds, polling (no timing assertion: only a bound on waiting). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} missing`);
  return Number(line.split(' ')[1]);
}
