// A reusable staging allocation inside a wasm unit for per-call inputs and outputs, so a
// step does not malloc. It grows (doubling) only when a call needs more than ever before.
import type { WasmUnit } from '../wasm/unit.ts';

export class Arena {
  private ptr: number;
  private capacity: number;

  constructor(
    private readonly unit: WasmUnit,
    initialBytes: number,
  ) {
    this.capacity = initialBytes;
    this.ptr = unit.malloc(initialBytes);
  }

  /** Base pointer of at least `bytes` bytes (8-aligned); earlier contents are lost. */
  reserve(bytes: number): number {
    if (bytes > this.capacity) {
      this.unit.free(this.ptr);
      this.capacity = Math.max(bytes, this.capacity * 2);
      this.ptr = this.unit.malloc(this.capacity);
    }
    return this.ptr;
  }

  release(): void {
    this.unit.free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
  }
}

/** Lays out consecutive 8-aligned regions from a base pointer. */
export class Layout {
  private offset = 0;
  take(bytes: number): number {
    const at = this.offset;
    this.offset += Math.ceil(bytes / 8) * 8;
    return at;
  }
  get size(): number {
    return this.offset;
  }
}
