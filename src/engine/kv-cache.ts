// The KV cache: per layer, one key and one value buffer laid out [slot, kvHead, position, dim]
// (BNSH). The graph's GroupQueryAttention writes new positions in place, because the same
// tensor is fed as `past_key_values.*` and fetched as `present.*`.
//
// `capacity` (positions per slot) follows the longest live sequence, growing with it and
// shrinking back once they are all much shorter, instead of sitting at maxModelLen: memory
// follows the load. How it grows depends on what a bigger buffer costs:
// - 'step' (onnxruntime-node, which copies the bound buffers on every run: a 16-row decode step
//   of bench-0.5b took 270 ms at capacity 1024 against 130 ms at 128, kernels alike): in steps
//   of GROWTH positions, copying no more than needed;
// - 'double' (the native runtime, where a run copies nothing and capacity costs only memory):
//   at least doubling, so that a sequence decoding past its prompt resizes a few times, not
//   every GROWTH tokens. A resize copies the whole cache (250 MB for bench-0.5b's 16 slots at
//   640 positions).
import * as ort from 'onnxruntime-node';

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  slots: number;
  maxLength: number;
}

/** Positions added or removed at a time; a new capacity keeps this much room past the longest. */
const GROWTH = 128;

export type KvGrowth = 'step' | 'double';

/**
 * What the scheduler and the sequence steppers do with a KV cache, wherever its buffers live:
 * here in host memory (KvCache), or on the GPU (DeviceKvCache).
 */
export interface KvStore {
  readonly shape: KvShape;
  /** Positions per slot that the buffers hold now. */
  readonly capacity: number;
  /** Bytes held by the buffers. */
  readonly bytes: number;
  /** Shrinks the buffers to fit `length` positions per slot, when worth it (canShrinkTo); true when it did. */
  shrinkTo(length: number): boolean;
  canShrinkTo(length: number): boolean;
  /** Copies the first `length` positions of slot `from` into slot `to` (beam forks, n > 1, prefix reuse). */
  copySlot(from: number, to: number, length: number): void;
}

/** The capacity for sequences of up to `length` positions, with GROWTH positions of room. */
export function capacityFor(shape: KvShape, length: number): number {
  return Math.min(shape.maxLength, (Math.ceil(length / GROWTH) + 1) * GROWTH);
}

/** The capacity that makes room for `length` positions (> `capacity`), growing as `growth` says. */
export function grownCapacity(shape: KvShape, capacity: number, length: number, growth: KvGrowth): number {
  if (length > shape.maxLength) throw new Error(`kv cache: ${length} positions exceed the limit ${shape.maxLength}`);
  const doubled = growth === 'double' ? Math.min(shape.maxLength, 2 * capacity) : 0;
  return Math.max(capacityFor(shape, length), doubled);
}

/** Whether buffers of `capacity` are worth shrinking for `length` positions: more than two steps of room would go. */
export function worthShrinking(shape: KvShape, capacity: number, length: number): boolean {
  return capacityFor(shape, length) + 2 * GROWTH <= capacity;
}

/** Bytes of float32 key and value buffers of `capacity` positions per slot. */
export function cacheBytes(shape: KvShape, capacity: number): number {
  return 2 * shape.layers * shape.slots * shape.kvHeads * capacity * shape.headDim * Float32Array.BYTES_PER_ELEMENT;
}

export class KvCache implements KvStore {
  capacity: number;
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];

  constructor(
    readonly shape: KvShape,
    private readonly growth: KvGrowth = 'step',
  ) {
    this.capacity = capacityFor(shape, 0);
    this.allocate(this.capacity, null);
  }

  get bytes(): number {
    return cacheBytes(this.shape, this.capacity);
  }

  private get slotStride(): number {
    return this.shape.kvHeads * this.capacity * this.shape.headDim;
  }

  private allocate(capacity: number, previous: { keys: Float32Array[]; values: Float32Array[]; capacity: number } | null): void {
    const { layers, kvHeads, headDim, slots } = this.shape;
    const size = slots * kvHeads * capacity * headDim;
    this.keys = Array.from({ length: layers }, () => new Float32Array(size));
    this.values = Array.from({ length: layers }, () => new Float32Array(size));
    this.capacity = capacity;
    if (!previous) return;
    const rows = slots * kvHeads; // every (slot, head) row of positions moves to its new stride
    const oldRow = previous.capacity * headDim;
    const newRow = capacity * headDim;
    const kept = Math.min(oldRow, newRow);
    for (let layer = 0; layer < layers; layer++) {
      for (let r = 0; r < rows; r++) {
        this.keys[layer].set(previous.keys[layer].subarray(r * oldRow, r * oldRow + kept), r * newRow);
        this.values[layer].set(previous.values[layer].subarray(r * oldRow, r * oldRow + kept), r * newRow);
      }
    }
  }

  /** Makes room for `length` positions per slot (up to maxLength). */
  reserve(length: number): void {
    if (length <= this.capacity) return;
    this.allocate(grownCapacity(this.shape, this.capacity, length, this.growth), { keys: this.keys, values: this.values, capacity: this.capacity });
  }

  /**
   * Shrinks the buffers when every position worth keeping (`length` per slot) leaves more
   * than two steps of room, so that a sequence hovering at a boundary does not resize each
   * step. True when it shrank.
   */
  shrinkTo(length: number): boolean {
    if (!this.canShrinkTo(length)) return false;
    this.allocate(capacityFor(this.shape, length), { keys: this.keys, values: this.values, capacity: this.capacity });
    return true;
  }

  canShrinkTo(length: number): boolean {
    return worthShrinking(this.shape, this.capacity, length);
  }

  /** Feeds/fetches for slots [first, first + count): one tensor per layer and kind, shared in and out. */
  tensors(first: number, count: number): Record<string, ort.Tensor> {
    const { kvHeads, headDim } = this.shape;
    const dims = [count, kvHeads, this.capacity, headDim];
    const begin = first * this.slotStride;
    const end = (first + count) * this.slotStride;
    const out: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < this.keys.length; layer++) {
      out[`${layer}.key`] = new ort.Tensor('float32', this.keys[layer].subarray(begin, end), dims);
      out[`${layer}.value`] = new ort.Tensor('float32', this.values[layer].subarray(begin, end), dims);
    }
    return out;
  }

  copySlot(from: number, to: number, length: number): void {
    if (from === to || length === 0) return;
    const { kvHeads, headDim } = this.shape;
    const row = this.capacity * headDim;
    for (let layer = 0; layer < this.keys.length; layer++) {
      for (const buffer of [this.keys[layer], this.values[layer]]) {
        for (let h = 0; h < kvHeads; h++) {
          const src = from * this.slotStride + h * row;
          buffer.copyWithin(to * this.slotStride + h * row, src, src + length * headDim);
        }
      }
    }
  }
}
