// Blockwise asymmetric int4 quantization in the layout of com.microsoft.MatMulNBits:
// B is [N, K] (the Hugging Face [out, in] weight as is), split along K into blocks.
//   packed      uint8 [N, blocks, blockSize / 2]   two values a byte, low nibble first
//   scales      float [N, blocks]
//   zeroPoints  uint8 [N, ceil(blocks / 2)]        two a byte, low nibble first
// value ≈ (q - zeroPoint) * scale.

export interface Int4Weight {
  n: number;
  k: number;
  blockSize: number;
  blocks: number;
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

export function quantizeInt4(weight: Float32Array, n: number, k: number, blockSize: number): Int4Weight {
  if (weight.length !== n * k) throw new Error(`int4: weight has ${weight.length} values, expected ${n}×${k}`);
  return quantizeInt4Rows(n, k, blockSize, (start, count) => weight.subarray(start * k, (start + count) * k), n);
}

/**
 * The same, reading the weight `chunkRows` rows at a time from `rowsAt(start, count)`: only
 * the int4 result and one chunk of float32 rows are in memory (an 8B model's 128k-row head).
 */
export function quantizeInt4Rows(n: number, k: number, blockSize: number, rowsAt: (start: number, count: number) => Float32Array, chunkRows: number): Int4Weight {
  if (blockSize % 2 !== 0) throw new Error(`int4: block size ${blockSize} must be even`);
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const zpStride = Math.ceil(blocks / 2);
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpStride);
  for (let first = 0; first < n; first += chunkRows) {
    const count = Math.min(chunkRows, n - first);
    const weight = rowsAt(first, count);
    if (weight.length !== count * k) throw new Error(`int4: rows ${first}..${first + count} have ${weight.length} values, expected ${count}×${k}`);
    for (let r = 0; r < count; r++) {
      const row = first + r;
      const base = r * k;
      for (let b = 0; b < blocks; b++) {
        const start = b * blockSize;
        const end = Math.min(start + blockSize, k);
        // The range always includes 0 so that zero-padding of a short last block is exact.
        let lo = 0;
        let hi = 0;
        for (let i = start; i < end; i++) {
          const v = weight[base + i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        const scale = (hi - lo) / 15;
        const zp = scale === 0 ? 8 : Math.min(15, Math.max(0, Math.round(-lo / scale)));
        const inv = scale === 0 ? 0 : 1 / scale;
        scales[row * blocks + b] = scale;
        zeroPoints[row * zpStride + (b >> 1)]! |= zp << ((b & 1) * 4);
        const out = (row * blocks + b) * blob;
        for (let i = start; i < end; i++) {
          const q = Math.min(15, Math.max(0, Math.round(weight[base + i]! * inv) + zp));
          const j = i - start;
          packed[out + (j >> 1)]! |= q << ((j & 1) * 4);
        }
        for (let j = end - start; j < blockSize; j++) packed[out + (j >> 1)]! |= zp << ((j & 1) * 4);
      }
    }
  }
  return { n, k, blockSize, blocks, packed, scales, zeroPoints };
}
