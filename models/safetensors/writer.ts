// Writes a safetensors file, producing tensor data one tensor at a time.
import { closeSync, openSync, writeSync } from 'node:fs';
import { toBfloat16, toFloat16 } from '../numeric/half.ts';
import type { SafetensorsDtype } from './reader.ts';

export interface TensorSpec {
  name: string;
  shape: number[];
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

function encode(values: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  const typed = dtype === 'F32' ? values : dtype === 'F16' ? toFloat16(values) : toBfloat16(values);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** `produce(spec)` is called once per tensor, in order; its result is written and dropped. */
export function writeSafetensors(path: string, dtype: SafetensorsDtype, specs: TensorSpec[], produce: (spec: TensorSpec) => Float32Array): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const s of specs) {
    const length = s.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[s.name] = { dtype, shape: s.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  const json = JSON.stringify(header);
  // Pad the UTF-8 bytes (not the characters: names may be non-ASCII) so tensor data stays 8-byte aligned.
  const jsonBytes = new TextEncoder().encode(json);
  const headerBytes = new Uint8Array(jsonBytes.length + ((8 - (jsonBytes.length % 8)) % 8)).fill(0x20);
  headerBytes.set(jsonBytes);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  const fd = openSync(path, 'w');
  try {
    const writeAll = (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    };
    writeAll(prefix);
    writeAll(headerBytes);
    for (const s of specs) {
      const values = produce(s);
      const expected = s.shape.reduce((a, b) => a * b, 1);
      if (values.length !== expected) throw new Error(`safetensors writer: ${s.name} produced ${values.length} values, expected ${expected}`);
      writeAll(encode(values, dtype));
    }
  } finally {
    closeSync(fd);
  }
}
