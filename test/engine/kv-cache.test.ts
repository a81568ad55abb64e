// The KV buffers follow the live sequences: they grow and shrink, keeping every slot's leading
// positions where GroupQueryAttention expects them; on the native runtime they grow by doubling
// and shrink only after staying too big for a while.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveRuntime } from '../../src/engine/graph-session.ts';
import { KvCache } from '../../src/engine/kv-cache.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { collect, greedyRequest, loadTiny, randomTokens, tinyDir } from './helpers.ts';

const nativeBuilt = resolveRuntime('auto', ['cpu']) === 'native';
const shape = { layers: 2, kvHeads: 2, headDim: 4, slots: 3, maxLength: 2048 };

/** Position `pos` of (layer, slot, head) as laid out [slot, head, pos, dim], read from a fed tensor. */
function read(kv: KvCache, layer: number, slot: number, head: number, pos: number): number[] {
  const data = kv.tensors(0, shape.slots)[`${layer}.key`]!.data as Float32Array;
  const at = ((slot * shape.kvHeads + head) * kv.capacity + pos) * shape.headDim;
  return Array.from(data.subarray(at, at + shape.headDim));
}

function write(kv: KvCache, layer: number, slot: number, head: number, pos: number, value: number): void {
  const data = kv.tensors(0, shape.slots)[`${layer}.key`]!.data as Float32Array;
  data.fill(value, ((slot * shape.kvHeads + head) * kv.capacity + pos) * shape.headDim, ((slot * shape.kvHeads + head) * kv.capacity + pos + 1) * shape.headDim);
}

test('grows in steps of 128 with room to spare and shrinks to the live length, keeping the leading positions', () => {
  const kv = new KvCache(shape);
  assert.is(kv.capacity, 128);
  kv.reserve(128);
  assert.is(kv.capacity, 128);
  kv.reserve(600);
  assert.is(kv.capacity, 768);
  for (let slot = 0; slot < 3; slot++) for (let pos = 0; pos < 100; pos++) write(kv, 1, slot, 1, pos, slot * 1000 + pos);
  assert.is(kv.shrinkTo(400), false, 'needs 640: within two steps of 768, stays');
  assert.ok(kv.shrinkTo(100));
  assert.is(kv.capacity, 256);
  for (let slot = 0; slot < 3; slot++) for (const pos of [0, 57, 99]) assert.equal(read(kv, 1, slot, 1, pos), new Array(4).fill(slot * 1000 + pos));
  assert.is(kv.shrinkTo(0), false, 'never below one step');
  assert.throws(() => kv.reserve(4096), /exceed the limit/);
});

test('doubling growth: at least twice the capacity, capped at the limit', () => {
  const kv = new KvCache(shape, 'double');
  kv.reserve(200);
  assert.is(kv.capacity, 384, 'what 200 positions need (384) is more than double 128');
  kv.reserve(400);
  assert.is(kv.capacity, 768);
  kv.reserve(1500);
  assert.is(kv.capacity, 1664);
  kv.reserve(1700);
  assert.is(kv.capacity, 2048, 'doubling stops at maxLength');
});

test('a sequence that outlives a long one keeps its tokens across the shrink, on both runtimes', async () => {
  const long = greedyRequest('long', randomTokens(91, 300), 2);
  const short = greedyRequest('short', randomTokens(92, 10), 40);
  const alone = await loadTiny({ maxBatchSize: 1 });
  const expected = (await collect(alone.generate(short))).tokens[0];
  await alone.close();
  for (const runtime of nativeBuilt ? (['native', 'onnxruntime-node'] as const) : (['onnxruntime-node'] as const)) {
    const engine = await loadTiny({ maxBatchSize: 2, runtime, kvShrinkDelaySeconds: 0 });
    const [, got] = await Promise.all([collect(engine.generate(long)), collect(engine.generate(short))]);
    assert.equal(got.tokens[0], expected, runtime);
    assert.ok(engine.stats().kvCacheBytes < kvBytes(2, 300), `${runtime}: shrank once the long one ended`);
    await engine.close();
  }
});

/** Bytes of the tiny model's KV buffers for `slots` slots holding `length` positions. */
function kvBytes(slots: number, length: number): number {
  const m = readManifest(tinyDir());
  return m.numLayers * 2 * slots * m.numKeyValueHeads * length * m.headDim * 4;
}

test('native runtime: requests one after another reuse the grown buffers; they shrink once idle past the delay', async () => {
  if (!nativeBuilt) return void console.warn('kv-cache.test: native addon not built; skipped');
  const engine = await loadTiny({ maxBatchSize: 2, runtime: 'native', kvShrinkDelaySeconds: 0.4 });
  assert.is(engine.stats().kvCacheBytes, kvBytes(2, 128));
  await collect(engine.generate(greedyRequest('long', randomTokens(93, 300), 2)));
  const grown = engine.stats().kvCacheBytes;
  assert.ok(grown >= kvBytes(2, 302), `grown to ${grown}`);
  const short = await collect(engine.generate(greedyRequest('next', randomTokens(94, 10), 4)));
  assert.is(short.tokens[0]!.length, 4);
  assert.is(engine.stats().kvCacheBytes, grown, 'the next request found them as they were');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.is(engine.stats().kvCacheBytes, kvBytes(2, 128), 'idle past the delay: back to one step');
  await engine.close();
});

test.run();
