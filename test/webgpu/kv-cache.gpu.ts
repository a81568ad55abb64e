// The KV cache on the device against the host cache: the same resizes, slot copies and window
// passes leave the same numbers, read back through a graph whose output comes to the CPU.
import * as ort from 'onnxruntime-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DataType, GraphBuilder } from '../../models/onnx/graph.ts';
import { DeviceKvCache } from '../../src/engine/device-kv-cache.ts';
import { KvCache, type KvShape } from '../../src/engine/kv-cache.ts';

const shape: KvShape = { layers: 2, kvHeads: 2, headDim: 4, slots: 3, maxLength: 1024 };

/** Reads device tensors back: an Identity graph on webgpu whose output stays on the CPU. */
async function reader(): Promise<(tensor: ort.Tensor) => Promise<Float32Array>> {
  const g = new GraphBuilder();
  g.input('x', DataType.FLOAT, ['a', 'b', 'c', 'd']);
  g.op('Identity', ['x'], { output: 'y' });
  g.output('y', DataType.FLOAT, ['a', 'b', 'c', 'd']);
  const session = await ort.InferenceSession.create(g.serialize('read', [{ domain: '', version: 17 }]), { executionProviders: ['webgpu'] });
  return async (tensor) => (await session.run({ x: tensor })).y.data as Float32Array;
}

/** The host cache's buffers for slots [first, first + count), keys and values layer by layer. */
function hostBuffers(host: KvCache, first: number, count: number): ort.Tensor[] {
  const tensors = host.tensors(first, count);
  return Array.from({ length: shape.layers }, (_, layer) => [tensors[`${layer}.key`], tensors[`${layer}.value`]]).flat();
}

test('resizes, slot copies and window passes on the device match the host cache', async () => {
  const read = await reader();
  const host = new KvCache(shape, 'double');
  const device = await DeviceKvCache.create(shape, ['webgpu']);
  try {
    // Fill every slot with distinct numbers, through a pass over the whole cache.
    let seed = 1;
    for (const buffer of hostBuffers(host, 0, shape.slots)) (buffer.data as Float32Array).forEach((_, i, a) => (a[i] = (seed = (seed * 48271) % 2147483647) / 2147483647));
    await device.run(0, shape.slots, async () => hostBuffers(host, 0, shape.slots).map((t) => new ort.Tensor('float32', (t.data as Float32Array).slice(), t.dims)));

    const ops: Array<[string, (kv: KvCache | DeviceKvCache) => void]> = [
      ['copy slot 0 to 2', (kv) => kv.copySlot(0, 2, kv.capacity)],
      ['grow to 300 positions', (kv) => kv.reserve(300)],
      ['copy slot 2 to 1', (kv) => kv.copySlot(2, 1, kv.capacity)],
      ['shrink to 10 positions', (kv) => assert.ok(kv.shrinkTo(10))],
    ];
    for (const [name, op] of ops) {
      op(host);
      op(device);
      assert.is(device.capacity, host.capacity, name);
      assert.is(device.bytes, host.bytes, name);
    }
    // A pass over slot 1 alone: it sees slot 1's buffers, and what it returns replaces them.
    await device.run(1, 1, async (past) => {
      const expected = hostBuffers(host, 1, 1);
      for (const [i, buffer] of past.entries()) {
        assert.equal(buffer.dims, expected[i].dims, 'window dims');
        assert.equal(Array.from(await read(buffer)), Array.from(expected[i].data as Float32Array), 'the window holds slot 1');
      }
      return expected.map((t) => {
        const next = (t.data as Float32Array).map((v) => v + 10);
        (t.data as Float32Array).set(next);
        return new ort.Tensor('float32', next, t.dims);
      });
    });
    await device.run(0, shape.slots, async (past) => {
      const expected = hostBuffers(host, 0, shape.slots);
      for (const [i, buffer] of past.entries()) {
        assert.equal(Array.from(await read(buffer)), Array.from(expected[i].data as Float32Array), `buffer ${i} after every step`);
      }
      return past;
    });
  } finally {
    await device.dispose();
  }
});

test.run();
