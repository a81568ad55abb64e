// Qwen2-VL's `smart_resize`: the size an image is resampled to before patching. Both sides
// become multiples of `factor` (patch × merge) and the area lands in [minPixels, maxPixels],
// keeping the aspect ratio as closely as that allows.
import { VisionInputError } from './errors.ts';

/** Images more elongated than this are refused, as by Hugging Face's processor. */
export const MAX_ASPECT_RATIO = 200;

export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): { height: number; width: number } {
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > MAX_ASPECT_RATIO) {
    throw new VisionInputError(`image aspect ratio must be at most ${MAX_ASPECT_RATIO}:1, got ${width}x${height}`);
  }
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/** Python's `round`: ties go to the even neighbour (70 / 28 = 2.5 → 2, not 3). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
