// Prometheus metrics with the exact names of docs/API.md ("Metrics"); dashboards depend on them.
// Each app owns its registry, so several servers can live in one process (tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineObserver, EngineStats } from '../src/index.ts';

export interface Metrics {
  readonly registry: Registry;
  /** Feeds the latency histograms and token counters; give it to `Engine.load`. */
  readonly observer: EngineObserver;
  /** The gauges read the engine's state at scrape time. */
  watchEngine(stats: () => EngineStats): void;
  countRequest(endpoint: string, status: number): void;
}

const latencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let stats: (() => EngineStats) | undefined;
  let prefixHitsSeen = 0;

  const requests = new Counter({
    name: 'xllm_requests_total',
    help: 'HTTP requests by endpoint and status',
    labelNames: ['endpoint', 'status'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'xllm_requests_running',
    help: 'Sequences holding a KV slot',
    registers: [registry],
    collect() {
      this.set(stats?.().running ?? 0);
    },
  });
  new Gauge({
    name: 'xllm_requests_waiting',
    help: 'Sequences waiting for a KV slot',
    registers: [registry],
    collect() {
      this.set(stats?.().waiting ?? 0);
    },
  });
  new Gauge({
    name: 'xllm_kv_slots_used_ratio',
    help: 'Fraction of KV slots in use',
    registers: [registry],
    collect() {
      this.set(stats?.().slotsUsedRatio ?? 0);
    },
  });
  new Counter({
    name: 'xllm_prefix_cache_hits_total',
    help: 'Requests that reused a cached KV prefix',
    registers: [registry],
    collect() {
      // The engine keeps a running total; a counter can only grow by the difference.
      const total = stats?.().prefixCacheHits ?? prefixHitsSeen;
      if (total > prefixHitsSeen) this.inc(total - prefixHitsSeen);
      prefixHitsSeen = total;
    },
  });
  const ttft = histogram(registry, 'xllm_time_to_first_token_seconds', 'Time from arrival to the first generated token');
  const itl = histogram(registry, 'xllm_inter_token_latency_seconds', 'Time between two generated tokens of a sequence');
  const e2e = histogram(registry, 'xllm_e2e_request_latency_seconds', 'Time from arrival to the last token');
  const promptTokens = new Counter({ name: 'xllm_prompt_tokens_total', help: 'Prompt tokens processed', registers: [registry] });
  const generationTokens = new Counter({
    name: 'xllm_generation_tokens_total',
    help: 'Tokens generated',
    registers: [registry],
  });

  return {
    registry,
    observer: {
      onFirstToken: (_id, seconds) => ttft.observe(seconds),
      onInterToken: (_id, seconds) => itl.observe(seconds),
      onFinished: (_id, info) => {
        e2e.observe(info.seconds);
        promptTokens.inc(info.promptTokens);
        generationTokens.inc(info.completionTokens);
      },
    },
    watchEngine(source) {
      stats = source;
    },
    countRequest(endpoint, status) {
      requests.inc({ endpoint, status: String(status) });
    },
  };
}

function histogram(registry: Registry, name: string, help: string): Histogram {
  return new Histogram({ name, help, buckets: latencyBuckets, registers: [registry] });
}
