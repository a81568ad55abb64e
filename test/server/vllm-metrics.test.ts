// The vLLM-named series that inference gateways scrape to pick a replica: the Gateway API
// Inference Extension's endpoint picker reads vllm:num_requests_waiting,
// vllm:num_requests_running, vllm:kv_cache_usage_perc (older: vllm:gpu_cache_usage_perc) and the
// block_size / num_gpu_blocks labels of vllm:cache_config_info. Scraped over HTTP and read by a
// Prometheus text-format parser: the types the gateways expect, the model_name label, and
// values that follow the engine (mid-stream and after) and agree with our own series.
import parsePrometheus, { type MetricFamily } from 'parse-prometheus-text-format';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../../src/engine/engine.ts';
import { ensureModel } from '../../models/recipe.ts';
import { createMetrics } from '../../server/metrics.ts';
import { MODEL, postJson, startServer, type TestServer } from './harness.ts';

const SLOTS = 2;
const MAX_LEN = 256;
let server: TestServer;
let engine: Engine;

test.before(async () => {
  const metrics = createMetrics();
  engine = await Engine.load(ensureModel('tiny', 'fp32'), { maxBatchSize: SLOTS, maxModelLen: MAX_LEN, threads: 1, enablePrefixCache: true, observer: metrics.observer });
  server = await startServer({}, engine, metrics);
});
test.after(async () => {
  await server.close();
  await engine.close();
});

async function scrape(): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${server.url}/metrics`);
  assert.ok(res.headers.get('content-type')?.startsWith('text/plain'), 'Prometheus text format');
  return new Map(parsePrometheus(await res.text()).map((family) => [family.name, family]));
}

/** The one sample of a gauge or counter labelled model_name=MODEL. */
function sample(families: Map<string, MetricFamily>, name: string, type: MetricFamily['type']): number {
  const family = families.get(name);
  if (!family) throw new Error(`${name} is missing`);
  assert.is(family.type, type, `${name} is a ${type.toLowerCase()}`);
  const samples = family.metrics.filter((m) => m.labels?.model_name === MODEL);
  assert.is(samples.length, 1, `${name} has one sample labelled model_name="${MODEL}"`);
  return Number(samples[0]!.value);
}

/** Observations in a histogram: its +Inf bucket. */
function observations(families: Map<string, MetricFamily>, name: string): number {
  const family = families.get(name);
  if (!family) throw new Error(`${name} is missing`);
  assert.is(family.type, 'HISTOGRAM', `${name} is a histogram`);
  return Number(family.metrics[0]?.buckets?.['+Inf'] ?? 0);
}

const plainValue = (families: Map<string, MetricFamily>, name: string) => Number(families.get(name)!.metrics[0]!.value);

test('the gateway gauges: running and KV usage follow a stream, waiting counts the queue, the cache layout is declared', async () => {
  const idle = await scrape();
  assert.is(sample(idle, 'vllm:num_requests_running', 'GAUGE'), 0);
  assert.is(sample(idle, 'vllm:num_requests_waiting', 'GAUGE'), 0);
  assert.is(sample(idle, 'vllm:kv_cache_usage_perc', 'GAUGE'), 0);
  assert.is(sample(idle, 'vllm:gpu_cache_usage_perc', 'GAUGE'), 0);
  const info = idle.get('vllm:cache_config_info')!;
  assert.is(info.type, 'GAUGE');
  assert.equal(info.metrics, [{ value: '1', labels: { block_size: '16', num_gpu_blocks: String((SLOTS * MAX_LEN) / 16) } }]);

  // Three long streams on two slots: two run, one waits. Read the first chunk of each running one.
  const body = { model: MODEL, prompt: 'count with me', max_tokens: MAX_LEN - 16, ignore_eos: true, temperature: 0, stream: true };
  const streams = await Promise.all([postJson(`${server.url}/v1/completions`, body), postJson(`${server.url}/v1/completions`, body)]);
  const readers = streams.map((res) => res.body!.getReader());
  await Promise.all(readers.map((reader) => reader.read()));
  const third = postJson(`${server.url}/v1/completions`, { ...body, stream: false });
  let busy = await scrape();
  for (let tries = 0; sample(busy, 'vllm:num_requests_waiting', 'GAUGE') === 0 && tries < 100; tries++) busy = await scrape();
  assert.is(sample(busy, 'vllm:num_requests_running', 'GAUGE'), 2);
  assert.is(sample(busy, 'vllm:num_requests_waiting', 'GAUGE'), 1);
  assert.is(sample(busy, 'vllm:kv_cache_usage_perc', 'GAUGE'), 1);
  assert.is(sample(busy, 'vllm:gpu_cache_usage_perc', 'GAUGE'), 1);
  assert.is(sample(busy, 'vllm:num_requests_running', 'GAUGE'), plainValue(busy, 'xllm_requests_running'));

  await Promise.all(readers.map(async (reader) => {
    while (!(await reader.read()).done);
  }));
  assert.is((await third).status, 200);
  const after = await scrape();
  assert.is(sample(after, 'vllm:num_requests_running', 'GAUGE'), 0);
  assert.is(sample(after, 'vllm:kv_cache_usage_perc', 'GAUGE'), 0);
});

test('latencies and token counts: vLLM names beside ours, the same observations; prefix-cache hits in tokens', async () => {
  const before = await scrape();
  const prompt = Array.from({ length: 40 }, (_, i) => 1000 + i);
  for (let i = 0; i < 2; i++) {
    const res = await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt, max_tokens: 5, ignore_eos: true, temperature: 0 });
    assert.is(res.status, 200);
  }
  const after = await scrape();
  const grew = (name: string) => sample(after, name, 'COUNTER') - sample(before, name, 'COUNTER');
  assert.is(grew('vllm:prompt_tokens_total'), 80);
  assert.is(grew('vllm:generation_tokens_total'), 10);
  assert.is(grew('vllm:prefix_cache_queries_total'), 80);
  // The second request finds the first one's prompt cached (all but the last token, which is recomputed for its logits).
  assert.ok(grew('vllm:prefix_cache_hits_total') >= 39, `prefix hits: ${grew('vllm:prefix_cache_hits_total')}`);
  assert.is(sample(after, 'vllm:prompt_tokens_total', 'COUNTER'), plainValue(after, 'xllm_prompt_tokens_total'));
  assert.is(sample(after, 'vllm:generation_tokens_total', 'COUNTER'), plainValue(after, 'xllm_generation_tokens_total'));
  for (const [vllm, ours, per] of [
    ['vllm:time_to_first_token_seconds', 'xllm_time_to_first_token_seconds', 1],
    ['vllm:e2e_request_latency_seconds', 'xllm_e2e_request_latency_seconds', 1],
    ['vllm:inter_token_latency_seconds', 'xllm_inter_token_latency_seconds', 4],
    ['vllm:time_per_output_token_seconds', 'xllm_inter_token_latency_seconds', 4],
  ] as const) {
    assert.is(observations(after, vllm) - observations(before, vllm), 2 * per, vllm);
    assert.is(observations(after, vllm), observations(after, ours), `${vllm} counts what ${ours} counts`);
  }
});

test.run();
