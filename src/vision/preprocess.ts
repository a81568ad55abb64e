// Qwen2-VL / Qwen2.5-VL image preprocessing, as Hugging Face's `Qwen2VLImageProcessor`:
// smart resize (bicubic), rescale to [0, 1], normalize per channel, repeat the still image
// to `temporalPatchSize` frames, and cut it into patches ordered so that each merge window
// (merge × merge neighbouring patches) is contiguous.
import type { ImageProcessorConfig } from './config.ts';
import { resizeBicubic } from './resize.ts';
import { smartResize } from './smart-resize.ts';
import type { PreparedImage, RgbImage } from './types.ts';

const CHANNELS = 3;

/** Resolves once the image is resized (cooperatively: the event loop keeps turning meanwhile). */
export async function preprocessImage(img: RgbImage, cfg: ImageProcessorConfig): Promise<PreparedImage> {
  const factor = cfg.patchSize * cfg.mergeSize;
  const size = smartResize(img.height, img.width, factor, cfg.minPixels, cfg.maxPixels);
  const resized = await resizeBicubic(img, size.width, size.height);
  return patchify(normalize(resized, cfg), size.width, size.height, cfg);
}

/** Planar float channels: value / 255, minus the mean, over the std. */
function normalize(img: RgbImage, cfg: ImageProcessorConfig): Float32Array[] {
  const pixels = img.width * img.height;
  return Array.from({ length: CHANNELS }, (_, c) => {
    const plane = new Float32Array(pixels);
    const mean = cfg.imageMean[c]!;
    const std = cfg.imageStd[c]!;
    for (let i = 0; i < pixels; i++) plane[i] = (img.data[i * CHANNELS + c]! / 255 - mean) / std;
    return plane;
  });
}

/**
 * Rows in the order (block row, block column, row in block, column in block), where a block
 * is a merge window of patches; each row holds (channel, frame, y, x) of one patch. The
 * frames are the same still image repeated.
 */
function patchify(planes: Float32Array[], width: number, height: number, cfg: ImageProcessorConfig): PreparedImage {
  const { patchSize: p, mergeSize: m, temporalPatchSize: frames } = cfg;
  const gridH = height / p;
  const gridW = width / p;
  const rowLength = CHANNELS * frames * p * p;
  const pixelValues = new Float32Array(gridH * gridW * rowLength);
  let row = 0;
  for (let blockY = 0; blockY < gridH / m; blockY++) {
    for (let blockX = 0; blockX < gridW / m; blockX++) {
      for (let inY = 0; inY < m; inY++) {
        for (let inX = 0; inX < m; inX++) {
          const top = (blockY * m + inY) * p;
          const left = (blockX * m + inX) * p;
          let o = row * rowLength;
          for (let c = 0; c < CHANNELS; c++) {
            const plane = planes[c]!;
            for (let f = 0; f < frames; f++) {
              for (let y = 0; y < p; y++) {
                const start = (top + y) * width + left;
                pixelValues.set(plane.subarray(start, start + p), o);
                o += p;
              }
            }
          }
          row++;
        }
      }
    }
  }
  return { pixelValues, gridThw: [1, gridH, gridW], tokenCount: (gridH * gridW) / (m * m) };
}
