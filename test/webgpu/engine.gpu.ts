// The engine on device webgpu (the KV cache on the device) against the engine on the cpu, on the
// tiny model's fp32 graph: the same greedy tokens with logprobs within float32 noise, through
// batched prompts, a cache that grows, beam search and the prefix cache (slot copies), and sleep.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Engine } from '../../src/engine/engine.ts';
import type { GenerationRequest } from '../../src/engine/types.ts';
import { collect, greedyRequest, loadTiny, randomTokens, type Collected } from '../engine/helpers.ts';
import { assertSameRun } from './compare.ts';

let cpu: Engine;
let gpu: Engine;

test.before(async () => {
  [cpu, gpu] = await Promise.all([loadTiny({ device: 'cpu', enablePrefixCache: true }), loadTiny({ device: 'webgpu', enablePrefixCache: true })]);
});
test.after(async () => {
  await Promise.all([cpu?.close(), gpu?.close()]);
});

const run = (engine: Engine, request: GenerationRequest): Promise<Collected> => collect(engine.generate(request));

test('the engine opened the model on webgpu', () => {
  assert.is(gpu.device, 'webgpu');
  assert.is(gpu.runtime, 'onnxruntime-node');
});

test('concurrent prompts: the same greedy tokens as on the cpu', async () => {
  const prompts = [randomTokens(1, 5), randomTokens(2, 17), randomTokens(3, 40)];
  const request = (p: number[], i: number) => greedyRequest(`c${i}`, p, 5, { logprobs: 0 });
  const [onGpu, onCpu] = await Promise.all([Promise.all(prompts.map((p, i) => run(gpu, request(p, i)))), Promise.all(prompts.map((p, i) => run(cpu, request(p, i))))]);
  onGpu.forEach((got, i) => assertSameRun(got, onCpu[i], `prompt ${i}`, prompts[i].length));
});

test('a prompt longer than the first capacity: the cache grows on the device', async () => {
  const request = greedyRequest('long', randomTokens(4, 200), 3, { logprobs: 0 });
  assertSameRun(await run(gpu, request), await run(cpu, request), 'long prompt', 200);
});

test('beam search forks beams by copying slots on the device', async () => {
  const request = greedyRequest('beam', randomTokens(5, 12), 4, { beam: { width: 2, candidatesPerBeam: 2 }, logprobs: 0 });
  const [got, want] = await Promise.all([run(gpu, request), run(cpu, request)]);
  assert.equal(got.tokens, want.tokens, 'beams');
});

test('the prefix cache: a repeat reuses its slot, a shared start is copied into another', async () => {
  const prompt = randomTokens(6, 30);
  const branch = [...prompt.slice(0, 20), ...randomTokens(7, 10)];
  const cached = (r: Collected) => r.events.flatMap((e) => (e.type === 'usage' ? [e.usage.cachedTokens] : []))[0];
  for (const [id, tokens, reused] of [['first', prompt, 0], ['repeat', prompt, 29], ['branch', branch, 20]] as const) {
    const request = greedyRequest(id, tokens, 3, { logprobs: 0 });
    const got = await run(gpu, request);
    assertSameRun(got, await run(cpu, request), id, tokens.length);
    assert.is(cached(got), reused, `${id}: cached tokens`);
  }
});

test('the selector endpoint: the same matches and top logprobs as on the cpu', async () => {
  const request = { requestId: 's', prompt: 'The capital of France is Paris. Spain is not Paris!', selector: ' Paris', logprobs: 5 };
  const [got, want] = await Promise.all([gpu.sample(request), cpu.sample(request)]);
  assert.is(got.promptTokens, want.promptTokens);
  assert.equal(got.matches.map((m) => m.position), want.matches.map((m) => m.position));
  assert.ok(got.matches.length >= 2, 'the selector matched');
  got.matches.forEach((match, i) => {
    assert.equal(match.top.map((t) => t.tokenId), want.matches[i].top.map((t) => t.tokenId));
    match.top.forEach((t, k) => assert.ok(Math.abs(t.logprob - want.matches[i].top[k].logprob) < 1e-4, `match ${i} top ${k}`));
  });
});

test('after sleep (level 1: the cache; level 2: the sessions too) the device serves the same again', async () => {
  const request = greedyRequest('slept', randomTokens(8, 9), 3, { logprobs: 0 });
  const before = await run(gpu, request);
  for (const level of [1, 2] as const) {
    await gpu.sleep(level);
    assert.is(gpu.stats().kvCacheBytes, 0, `level ${level} freed the cache`);
    await gpu.wakeUp();
    assertSameRun(await run(gpu, request), before, `after sleep level ${level}`, 9);
  }
});

test.run();
