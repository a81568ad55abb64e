import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { float16BitsToFloat32, float32ToFloat16Bits, fromBfloat16, toBfloat16 } from '../../models/numeric/half.ts';
import { quantizeInt4, quantizeInt4Rows } from '../../models/numeric/int4.ts';
import { SafetensorsCheckpoint } from '../../models/safetensors/reader.ts';
import { writeSafetensors } from '../../models/safetensors/writer.ts';

test('every finite half value survives float32 → float16 unchanged', () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    if ((bits & 0x7c00) === 0x7c00 && bits & 0x3ff) continue; // NaN payloads
    assert.is(float32ToFloat16Bits(float16BitsToFloat32(bits)), bits, `bits ${bits.toString(16)}`);
  }
});

test('float16 rounding is to nearest, ties to even, overflow to infinity', () => {
  // Halfway between 1 and the next half (1 + 2^-10) rounds to the even one, 1.
  assert.is(float16BitsToFloat32(float32ToFloat16Bits(1 + 2 ** -11)), 1);
  assert.is(float16BitsToFloat32(float32ToFloat16Bits(1 + 3 * 2 ** -11)), 1 + 2 * 2 ** -10);
  assert.is(float16BitsToFloat32(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)), 1 + 2 ** -10);
  assert.is(float16BitsToFloat32(float32ToFloat16Bits(70000)), Infinity);
  assert.is(float16BitsToFloat32(float32ToFloat16Bits(2 ** -25)), 0);
  assert.is(float16BitsToFloat32(float32ToFloat16Bits(3 * 2 ** -26)), 2 ** -24);
});

test('bfloat16 keeps the top 16 bits, rounding to nearest even', () => {
  const values = Float32Array.of(1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.14159);
  const back = fromBfloat16(toBfloat16(values));
  assert.equal(Array.from(back), [1, -2.5, 1, 1 + 4 * 2 ** -8, 3.140625]);
});

test('int4 blocks dequantize within half a step, with a zero-padded last block', () => {
  const n = 3;
  const k = 40; // one full block of 32 and a short one of 8
  const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
  const q = quantizeInt4(w, n, k, 32);
  assert.is(q.blocks, 2);
  for (let row = 0; row < n; row++) {
    for (let i = 0; i < k; i++) {
      const b = Math.floor(i / 32);
      const j = i % 32;
      const byte = q.packed[(row * q.blocks + b) * 16 + (j >> 1)]!;
      const value = j & 1 ? byte >> 4 : byte & 15;
      const zpByte = q.zeroPoints[row * Math.ceil(q.blocks / 2) + (b >> 1)]!;
      const zp = b & 1 ? zpByte >> 4 : zpByte & 15;
      const scale = q.scales[row * q.blocks + b]!;
      const error = Math.abs((value - zp) * scale - w[row * k + i]!);
      assert.ok(error <= scale / 2 + 1e-6, `row ${row} col ${i}: error ${error} > ${scale / 2}`);
    }
    // Padding past k dequantizes to exactly zero.
    for (let j = 8; j < 32; j++) {
      const byte = q.packed[(row * q.blocks + 1) * 16 + (j >> 1)]!;
      const zpByte = q.zeroPoints[row * Math.ceil(q.blocks / 2)]!;
      assert.is(j & 1 ? byte >> 4 : byte & 15, zpByte >> 4);
    }
  }
});

test('a table quantized a few rows at a time from the checkpoint equals it quantized whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xllm-rows-'));
  try {
    const [n, k] = [7, 70];
    const values = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i * 0.37) * (1 + (i % 3)));
    writeSafetensors(join(dir, 'model.safetensors'), 'BF16', [{ name: 'w', shape: [n, k] }], () => values);
    const ckpt = SafetensorsCheckpoint.open(dir);
    const whole = ckpt.read('w', [n, k]);
    assert.equal(ckpt.readRows('w', [n, k], 2, 3), whole.subarray(2 * k, 5 * k));
    assert.equal(quantizeInt4Rows(n, k, 32, (start, count) => ckpt.readRows('w', [n, k], start, count), 3), quantizeInt4(whole, n, k, 32));
    assert.throws(() => ckpt.readRows('w', [n, k], 5, 3), /rows 5\.\.8 outside its 7/);
    ckpt.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
