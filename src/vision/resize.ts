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
 * Convolves along one axis. `stride` steps between neighbouring inputs of a tap (3 for a
 * horizontal pass, 3 × width for a vertical one); `lines` × `lineStep` walks the other axis.
 */
function pass(src: Uint8Array, dst: Uint8Array, t: Taps, stride: number, lines: number, srcLine: number, dstLine: number, dstStep: number): void {
  for (let line = 0; line < lines; line++) {
    const srcBase = line * srcLine;
    const dstBase = line * dstLine;
    for (let out = 0; out < t.first.length; out++) {
      const n = t.count[out]!;
      const k = out * t.width;
      let s = srcBase + t.first[out]! * stride;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let i = 0; i < n; i++, s += stride) {
        const weight = t.weights[k + i]!;
        r += src[s]! * weight;
        g += src[s + 1]! * weight;
        b += src[s + 2]! * weight;
      }
      const d = dstBase + out * dstStep;
      dst[d] = clip8(r);
      dst[d + 1] = clip8(g);
      dst[d + 2] = clip8(b);
    }
  }
}

export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  let current = img;
  if (width !== current.width) {
    const data = new Uint8Array(width * current.height * 3);
    pass(current.data, data, taps(current.width, width), 3, current.height, current.width * 3, width * 3, 3);
    current = { width, height: current.height, data };
  }
  if (height !== current.height) {
    const data = new Uint8Array(width * height * 3);
    pass(current.data, data, taps(current.height, height), width * 3, width, 3, 3, width * 3);
    current = { width, height, data };
  }
  return current;
}
