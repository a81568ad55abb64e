// The KV cache: per layer, one key and one value buffer laid out [slot, kvHead, position, dim]
// (BNSH). The graph's GroupQueryAttention writes new positions in place, because the same
// tensor is fed as `past_key_values.*` and fetched as `present.*`.
//
// onnxruntime-node copies every fetched output back into a fresh JS array after a run, so the
// bytes bound per step cost a copy: `capacity` (positions per slot) grows in steps with the
// longest sequence instead of being allocated at maxModelLen up front.
import * as ort from 'onnxruntime-node';

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  slots: number;
  maxLength: number;
}

const FIRST_CAPACITY = 128;

export class KvCache {
  capacity: number;
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];

  constructor(readonly shape: KvShape) {
    this.capacity = Math.min(FIRST_CAPACITY, shape.maxLength);
    this.allocate(this.capacity, null);
  }

  /** Bytes held by the buffers. */
  get bytes(): number {
    return this.keys.length * 2 * this.keys[0].byteLength;
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
    for (let layer = 0; layer < layers; layer++) {
      for (let r = 0; r < rows; r++) {
        this.keys[layer].set(previous.keys[layer].subarray(r * oldRow, (r + 1) * oldRow), r * newRow);
        this.values[layer].set(previous.values[layer].subarray(r * oldRow, (r + 1) * oldRow), r * newRow);
      }
    }
  }

  /** Makes room for `length` positions per slot (grows by doubling, up to maxLength). */
  reserve(length: number): void {
    if (length <= this.capacity) return;
    if (length > this.shape.maxLength) throw new Error(`kv cache: ${length} positions exceed the limit ${this.shape.maxLength}`);
    let capacity = this.capacity;
    while (capacity < length) capacity *= 2;
    this.allocate(Math.min(capacity, this.shape.maxLength), { keys: this.keys, values: this.values, capacity: this.capacity });
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

  /** Copies the first `length` positions of slot `from` into slot `to` (beam forks, n > 1). */
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
