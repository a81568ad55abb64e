// Bicubic resampling of an RGB image, computed as Pillow's `Image.resize(size, BICUBIC)` does
// it (the resize inside Hugging Face's Qwen2-VL processor): a separable convolution with the
// Catmull-Rom kernel (a = -0.5) widened by the scale when shrinking (antialiasing), horizontal
// pass first, 8-bit rounding after each pass, fixed-point weights with 22 fraction bits.
import type { RgbImage } from './types.ts';

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** For each output index: the first input index, how many inputs, and their fixed-point weights. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** outSize × width, row per output index. */
  weights: Int32Array;
  width: number;
}

function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const width = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * width);
  const w = new Float64Array(width);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    const min = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - min;
    let total = 0;
    for (let i = 0; i < n; i++) {
      w[i] = bicubic((i + min - center + 0.5) / filterScale);
      total += w[i]!;
    }
    for (let i = 0; i < n; i++) {
      const k = total !== 0 ? w[i]! / total : w[i]!;
      // C's (int) cast after adding ±0.5: round half away from zero.
      weights[out * width + i] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    }
    first[out] = min;
    count[out] = n;
  }
  return { first, count, weights, width };
}

function clip8(sum: number): number {
  if (sum >= 1 << (PRECISION_BITS + 8)) return 255;
  if (sum <= 0) return 0;
  return sum >> PRECISION_BITS;
}

/**
 * One resampling pass: `rows(from, to)` fills output rows [from, to) of `image`. Passes run in
 * slices so that a large image does not hold the event loop (see `resizeBicubic`).
 */
interface Pass {
  image: RgbImage;
  rows(from: number, to: number): void;
}

/** Each row: output pixel = weighted sum of neighbouring input pixels in that row. */
function horizontalPass(src: RgbImage, width: number): Pass {
  const t = taps(src.width, width);
  const data = new Uint8Array(width * src.height * 3);
  const { first, count, weights } = t;
  const input = src.data;
  const rows = (from: number, to: number) => {
    for (let y = from; y < to; y++) {
      const srcRow = y * src.width * 3;
      const dstRow = y * width * 3;
      for (let out = 0; out < width; out++) {
        const n = count[out]!;
        const k = out * t.width;
        let s = srcRow + first[out]! * 3;
        let r = HALF;
        let g = HALF;
        let b = HALF;
        for (let i = 0; i < n; i++, s += 3) {
          const weight = weights[k + i]!;
          r += input[s]! * weight;
          g += input[s + 1]! * weight;
          b += input[s + 2]! * weight;
        }
        const d = dstRow + out * 3;
        data[d] = clip8(r);
        data[d + 1] = clip8(g);
        data[d + 2] = clip8(b);
      }
    }
  };
  return { image: { width, height: src.height, data }, rows };
}

/** Each output row: weighted sum of input rows, walked left to right so every row is read in order. */
function verticalPass(src: RgbImage, height: number): Pass {
  const t = taps(src.height, height);
  const rowLength = src.width * 3;
  const data = new Uint8Array(rowLength * height);
  const { weights } = t;
  const input = src.data;
  const rows = (from: number, to: number) => {
    for (let out = from; out < to; out++) {
      const n = t.count[out]!;
      const k = out * t.width;
      const first = t.first[out]! * rowLength;
      const dstRow = out * rowLength;
      for (let x = 0; x < rowLength; x++) {
        let sum = HALF;
        for (let i = 0, s = first + x; i < n; i++, s += rowLength) sum += input[s]! * weights[k + i]!;
        data[dstRow + x] = clip8(sum);
      }
    }
  };
  return { image: { width: src.width, height, data }, rows };
}

/** How long one slice of a pass may hold the event loop before yielding to other work. */
const SLICE_MS = 10;

async function runPass(pass: Pass): Promise<RgbImage> {
  const { height } = pass.image;
  let row = 0;
  while (row < height) {
    const sliceEnd = performance.now() + SLICE_MS;
    while (row < height && performance.now() < sliceEnd) pass.rows(row, ++row);
    if (row < height) await new Promise((resolve) => setImmediate(resolve));
  }
  return pass.image;
}

/**
 * Resizes in slices of ~10 ms with the event loop free in between: an 8192×8192 upload takes
 * over a second of resampling here, which would otherwise stall every other request's stream
 * (measured: one 1.5 s stall before, event-loop gaps of at most ~17 ms after).
 */
export async function resizeBicubic(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const wide = width === img.width ? img : await runPass(horizontalPass(img, width));
  return height === wide.height ? wide : runPass(verticalPass(wide, height));
}
