// The KV buffers follow the live sequences: they grow and shrink in steps, keeping every
// slot's leading positions where GroupQueryAttention expects them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KvCache } from '../../src/engine/kv-cache.ts';
import { collect, greedyRequest, loadTiny, randomTokens } from './helpers.ts';

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

test('a sequence that outlives a long one keeps its tokens across the shrink', async () => {
  const long = greedyRequest('long', randomTokens(91, 300), 2);
  const short = greedyRequest('short', randomTokens(92, 10), 40);
  const alone = await loadTiny({ maxBatchSize: 1 });
  const expected = (await collect(alone.generate(short))).tokens[0];
  await alone.close();
  const engine = await loadTiny({ maxBatchSize: 2 });
  const [, got] = await Promise.all([collect(engine.generate(long)), collect(engine.generate(short))]);
  assert.equal(got.tokens[0], expected);
  await engine.close();
});

test.run();
