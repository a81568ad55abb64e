// The KV cache kept on the GPU (WebGPU), so that a pass moves no cache across the bus: each
// layer's keys and values are GPU buffers that ONNX Runtime allocated, fed as the next pass's
// `past_key_values.*` and replaced by its `present.*` outputs. Only the rows of logits that the
// sampler needs come back to the CPU.
//
// onnxruntime-node 1.30 gives a GPU tensor no offset and cannot bind one as a preallocated
// output, so three things differ from the host cache (kv-cache.ts):
// - a pass over a window of slots that is not the whole cache takes its window out of the
//   buffers first and puts the window's presents back after (two small graphs, all layers in
//   one run each); a decode step covers every slot instead (scheduler.ts, planDecode);
// - resizing and copying slots are small graphs too (Pad/Slice, Gather/ScatterND), run on the
//   device with their outputs left there;
// - they are queued when the scheduler asks (its calls are synchronous) and run in order before
//   the next pass (settle), which is the only reader of the cache.
import * as ort from 'onnxruntime-node';
import { attr, DataType, GraphBuilder } from '../../models/onnx/graph.ts';
import { cacheBytes, capacityFor, grownCapacity, worthShrinking, type KvShape, type KvStore } from './kv-cache.ts';

/** The helper graphs' sessions, over the 2 × layers buffers (keys and values, layer by layer). */
interface CacheGraphs {
  /** kv_i → Slice(Pad(kv_i, pads), 0, capacity, axis 2): grows or shrinks the positions. */
  resize: ort.InferenceSession;
  /** kv_i → kv_i[start:end] along the slots. */
  window: ort.InferenceSession;
  /** kv_i, part_i, at → kv_i with slots `at` replaced by part_i. */
  place: ort.InferenceSession;
  /** kv_i, from, to → kv_i with slot `to` replaced by slot `from`. */
  copy: ort.InferenceSession;
}

const BUFFER_DIMS = ['slots', 'kv_heads', 'positions', 'head_dim'];

export class DeviceKvCache implements KvStore {
  private pending: Array<() => Promise<void>> = [];

  private constructor(
    readonly shape: KvShape,
    private readonly graphs: CacheGraphs,
    private buffers: ort.Tensor[],
    public capacity: number,
  ) {}

  /** A cache of zeros on the device that `providers` (webgpu) names. */
  static async create(shape: KvShape, providers: string[]): Promise<DeviceKvCache> {
    const graphs = await createCacheGraphs(2 * shape.layers, providers);
    const empty = new ort.Tensor('float32', new Float32Array(0), [shape.slots, shape.kvHeads, 0, shape.headDim]);
    const capacity = capacityFor(shape, 0);
    const buffers = await runResize(graphs.resize, Array.from({ length: 2 * shape.layers }, () => empty), 0, capacity);
    return new DeviceKvCache(shape, graphs, buffers, capacity);
  }

  get bytes(): number {
    return cacheBytes(this.shape, this.capacity);
  }

  /** Makes room for `length` positions per slot, doubling (a resize runs a graph over the whole cache). */
  reserve(length: number): void {
    if (length <= this.capacity) return;
    this.resizeTo(grownCapacity(this.shape, this.capacity, length, 'double'));
  }

  shrinkTo(length: number): boolean {
    if (!this.canShrinkTo(length)) return false;
    this.resizeTo(capacityFor(this.shape, length));
    return true;
  }

  canShrinkTo(length: number): boolean {
    return worthShrinking(this.shape, this.capacity, length);
  }

  copySlot(from: number, to: number, length: number): void {
    if (from === to || length === 0) return;
    this.enqueue(() => runHelper(this.graphs.copy, this.buffers, { from: int64([from], [1]), to: int64([to], [1, 1]) }));
  }

  /**
   * Runs `pass` over slots [first, first + count): it gets the window's buffers (keys and
   * values, layer by layer) and returns its presents, which replace them.
   */
  async run(first: number, count: number, pass: (past: ort.Tensor[]) => Promise<ort.Tensor[]>): Promise<void> {
    await this.settle();
    if (first === 0 && count === this.shape.slots) {
      this.replace(await pass(this.buffers));
      return;
    }
    const window = await runHelper(this.graphs.window, this.buffers, { start: int64([first], [1]), end: int64([first + count], [1]) });
    let presents: ort.Tensor[];
    try {
      presents = await pass(window);
    } finally {
      disposeAll(window);
    }
    try {
      const at = int64(Array.from({ length: count }, (_, i) => first + i), [count, 1]);
      this.replace(await runHelper(this.graphs.place, this.buffers, { at }, presents));
    } finally {
      disposeAll(presents);
    }
  }

  /** Frees the device buffers and the helper sessions; the cache is unusable after. */
  async dispose(): Promise<void> {
    this.pending = [];
    disposeAll(this.buffers);
    this.buffers = [];
    await Promise.all(Object.values(this.graphs).map((session: ort.InferenceSession) => session.release()));
  }

  private resizeTo(capacity: number): void {
    const from = this.capacity;
    this.capacity = capacity;
    this.enqueue(() => runResize(this.graphs.resize, this.buffers, from, capacity));
  }

  /** Queues a helper run; its outputs will replace the buffers. */
  private enqueue(run: () => Promise<ort.Tensor[]>): void {
    this.pending.push(async () => this.replace(await run()));
  }

  /** Runs the queued resizes and copies, in the order they were asked for. */
  private async settle(): Promise<void> {
    while (this.pending.length > 0) await this.pending.shift()!();
  }

  private replace(next: ort.Tensor[]): void {
    if (next.length !== this.buffers.length && this.buffers.length > 0) throw new Error(`device kv cache: ${next.length} buffers for ${this.buffers.length}`);
    disposeAll(this.buffers.filter((buffer) => !next.includes(buffer)));
    this.buffers = next;
  }
}

/** Runs a helper graph on `buffers` (as kv_i), `parts` (as part_i) and `extra`: its outputs in order. */
async function runHelper(graph: ort.InferenceSession, buffers: ort.Tensor[], extra: Record<string, ort.Tensor>, parts: ort.Tensor[] = []): Promise<ort.Tensor[]> {
  const feeds: Record<string, ort.Tensor> = { ...extra };
  buffers.forEach((buffer, i) => (feeds[`kv_${i}`] = buffer));
  parts.forEach((part, i) => (feeds[`part_${i}`] = part));
  const outputs = await graph.run(feeds);
  return Array.from({ length: buffers.length }, (_, i) => outputs[`out_${i}`] as ort.Tensor);
}

function runResize(resize: ort.InferenceSession, buffers: ort.Tensor[], from: number, to: number): Promise<ort.Tensor[]> {
  return runHelper(resize, buffers, { pads: int64([0, 0, 0, 0, 0, 0, Math.max(0, to - from), 0], [8]), capacity: int64([to], [1]) });
}

function disposeAll(tensors: ort.Tensor[]): void {
  for (const tensor of tensors) tensor.dispose();
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
}

/** The four helper graphs over `count` buffers, each opened on `providers` with its outputs left there. */
async function createCacheGraphs(count: number, providers: string[]): Promise<CacheGraphs> {
  // perBuffer makes output `out` from buffer `kv`.
  type PerBuffer = (g: GraphBuilder, kv: string, out: string, i: number) => void;
  const build = (name: string, inputs: (g: GraphBuilder) => void, perBuffer: PerBuffer): Promise<ort.InferenceSession> => {
    const g = new GraphBuilder();
    inputs(g);
    for (let i = 0; i < count; i++) {
      perBuffer(g, g.input(`kv_${i}`, DataType.FLOAT, BUFFER_DIMS), `out_${i}`, i);
      g.output(`out_${i}`, DataType.FLOAT, BUFFER_DIMS);
    }
    const model = g.serialize(`kv_${name}`, [{ domain: '', version: 17 }]);
    return ort.InferenceSession.create(model, { executionProviders: providers, preferredOutputLocation: 'gpu-buffer' });
  };
  const axis = (g: GraphBuilder, name: string, value: number) => g.int64s(name, [value]);
  const [resize, window, place, copy] = await Promise.all([
    build(
      'resize',
      (g) => {
        g.input('pads', DataType.INT64, [8]);
        g.input('capacity', DataType.INT64, [1]);
        axis(g, 'zero', 0);
        axis(g, 'positions_axis', 2);
      },
      (g, kv, output) => g.op('Slice', [g.op('Pad', [kv, 'pads']), 'zero', 'capacity', 'positions_axis'], { output }),
    ),
    build(
      'window',
      (g) => {
        g.input('start', DataType.INT64, [1]);
        g.input('end', DataType.INT64, [1]);
        axis(g, 'slots_axis', 0);
      },
      (g, kv, output) => g.op('Slice', [kv, 'start', 'end', 'slots_axis'], { output }),
    ),
    build(
      'place',
      (g) => {
        g.input('at', DataType.INT64, ['count', 1]);
        for (let i = 0; i < count; i++) g.input(`part_${i}`, DataType.FLOAT, ['count', 'kv_heads', 'positions', 'head_dim']);
      },
      (g, kv, output, i) => g.op('ScatterND', [kv, 'at', `part_${i}`], { output }),
    ),
    build(
      'copy',
      (g) => {
        g.input('from', DataType.INT64, [1]);
        g.input('to', DataType.INT64, [1, 1]);
      },
      (g, kv, output) => g.op('ScatterND', [kv, 'to', g.op('Gather', [kv, 'from'], { attrs: { axis: attr.int(0) } })], { output }),
    ),
  ]);
  return { resize, window, place, copy };
}
