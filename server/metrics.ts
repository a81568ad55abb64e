// Prometheus metrics with the exact names of docs/API.md ("Metrics"); dashboards depend on them.
// Beside our own series, the vLLM names that inference gateways scrape to pick a replica (the
// Gateway API Inference Extension's endpoint picker, llm-d, vLLM's production-stack router):
// queue length, running requests, KV-cache usage and its block layout, latencies and token
// counts, each labelled with the served model's name as vLLM labels them.
// Each app owns its registry, so several servers can live in one process (tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineObserver, EngineStats } from '../src/index.ts';

export interface Metrics {
  readonly registry: Registry;
  /** Feeds the latency histograms and token counters; give it to `Engine.load`. */
  readonly observer: EngineObserver;
  /** The gauges read the engine's state at scrape time, once the model has loaded. */
  watchEngine(stats: () => EngineStats, model: ServedModel): void;
  countRequest(endpoint: string, status: number): void;
}

/** What the vLLM-named series say of the model. */
export interface ServedModel {
  /** The `model_name` label: the id clients use. */
  name: string;
  maxModelLen: number;
}

/**
 * Tokens per block in `vllm:cache_config_info`. Our KV cache is a slot of maxModelLen tokens per
 * sequence and the prefix cache matches to the token, so any block size describes it; vLLM's
 * default keeps a gateway's prefix hashing at the granularity it is tuned for.
 */
const VLLM_BLOCK_SIZE = 16;

const latencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let stats: (() => EngineStats) | undefined;
  let served: ServedModel | undefined;
  let prefixHitsSeen = 0;

  const requests = new Counter({
    name: 'xllm_requests_total',
    help: 'HTTP requests by endpoint and status',
    labelNames: ['endpoint', 'status'] as const,
    registers: [registry],
  });
  /** A gauge read from the engine at scrape time: ours unlabelled, vLLM's by model_name. */
  const statGauge = (name: string, help: string, read: (s: EngineStats) => number) => {
    const vllm = name.startsWith('vllm:');
    new Gauge({
      name,
      help,
      labelNames: vllm ? ['model_name'] : [],
      registers: [registry],
      collect() {
        const now = stats?.();
        if (!vllm) this.set(now ? read(now) : 0);
        else if (now && served) this.set({ model_name: served.name }, read(now));
      },
    });
  };
  statGauge('xllm_requests_running', 'Sequences holding a KV slot', (s) => s.running);
  statGauge('xllm_requests_waiting', 'Sequences waiting for a KV slot', (s) => s.waiting);
  statGauge('xllm_kv_slots_used_ratio', 'Fraction of KV slots in use', (s) => s.slotsUsedRatio);
  statGauge('xllm_kv_cache_bytes', 'Bytes the KV buffers hold (they follow the longest sequence)', (s) => s.kvCacheBytes);
  statGauge('vllm:num_requests_running', 'Number of requests in model execution batches', (s) => s.running);
  statGauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed', (s) => s.waiting);
  // A sequence takes a whole slot, so the share of slots in use is the share of the KV cache.
  statGauge('vllm:kv_cache_usage_perc', 'KV-cache usage: 1 means 100 percent usage', (s) => s.slotsUsedRatio);
  statGauge('vllm:gpu_cache_usage_perc', 'KV-cache usage (the name before vLLM 0.10): 1 means 100 percent usage', (s) => s.slotsUsedRatio);
  new Gauge({
    name: 'vllm:cache_config_info',
    help: 'Information of the KV cache configuration',
    labelNames: ['block_size', 'num_gpu_blocks'],
    registers: [registry],
    collect() {
      const now = stats?.();
      if (!now || !served) return;
      const blocks = Math.floor((now.slots * served.maxModelLen) / VLLM_BLOCK_SIZE);
      this.reset();
      this.set({ block_size: String(VLLM_BLOCK_SIZE), num_gpu_blocks: String(blocks) }, 1);
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
  // Observations go to our series and to vLLM's names for the same thing (labelled by model).
  const modelLabel = () => ({ model_name: served?.name ?? '' });
  const latency = (ours: string, vllm: string[], help: string) => {
    const own = new Histogram({ name: ours, help, buckets: latencyBuckets, registers: [registry] });
    const theirs = vllm.map((name) => new Histogram({ name, help, buckets: latencyBuckets, labelNames: ['model_name'], registers: [registry] }));
    return (seconds: number) => {
      own.observe(seconds);
      for (const h of theirs) h.observe(modelLabel(), seconds);
    };
  };
  const tally = (names: string[], help: string) => {
    const counters = names.map((name) => {
      const vllm = name.startsWith('vllm:');
      return { vllm, counter: new Counter({ name, help, labelNames: vllm ? ['model_name'] : [], registers: [registry] }) };
    });
    return (n: number) => {
      for (const { vllm, counter } of counters) counter.inc(vllm ? modelLabel() : {}, n);
    };
  };
  const ttft = latency('xllm_time_to_first_token_seconds', ['vllm:time_to_first_token_seconds'], 'Time from arrival to the first generated token');
  // vLLM renamed time_per_output_token to inter_token_latency; gateways read either.
  const itl = latency('xllm_inter_token_latency_seconds', ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds'], 'Time between two generated tokens of a sequence');
  const e2e = latency('xllm_e2e_request_latency_seconds', ['vllm:e2e_request_latency_seconds'], 'Time from arrival to the last token');
  const promptTokens = tally(['xllm_prompt_tokens_total', 'vllm:prompt_tokens_total'], 'Prompt tokens processed');
  const generationTokens = tally(['xllm_generation_tokens_total', 'vllm:generation_tokens_total'], 'Tokens generated');
  const prefixQueries = tally(['vllm:prefix_cache_queries_total'], 'Prompt tokens looked up in the prefix cache');
  const prefixHits = tally(['vllm:prefix_cache_hits_total'], 'Prompt tokens found in the prefix cache');
  const forwardFailures = tally(['xllm_forward_failures_total'], 'Forward passes that failed (their requests retried alone, or failed)');

  return {
    registry,
    observer: {
      onFirstToken: (_id, seconds) => ttft(seconds),
      onInterToken: (_id, seconds) => itl(seconds),
      onForwardFailed: () => forwardFailures(1),
      onFinished: (_id, info) => {
        e2e(info.seconds);
        promptTokens(info.promptTokens);
        generationTokens(info.completionTokens);
        prefixQueries(info.promptTokens);
        prefixHits(info.cachedTokens);
      },
    },
    watchEngine(source, model) {
      stats = source;
      served = model;
    },
    countRequest(endpoint, status) {
      requests.inc({ endpoint, status: String(status) });
    },
  };
}
