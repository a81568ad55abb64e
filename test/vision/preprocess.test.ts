// preprocessImage against transformers.js's Qwen2VLImageProcessor (a port of Hugging Face's).
// Resizing differs on purpose: transformers.js resizes with sharp's affine bicubic (no
// antialiasing when shrinking), while the Python processor the model was trained with uses
// Pillow, which resize.test.ts shows we match byte for byte. So transformers.js gets our
// already-resized image (it leaves an image of the target size untouched) and must agree on
// everything after the resize to float rounding; the grids are compared on the original sizes.
import { RawImage, Qwen2VLImageProcessor } from '@huggingface/transformers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qwen25VlImageProcessor, type ImageProcessorConfig } from '../../src/vision/config.ts';
import { preprocessImage } from '../../src/vision/preprocess.ts';
import { resizeBicubic } from '../../src/vision/resize.ts';
import { smartResize } from '../../src/vision/smart-resize.ts';
import type { RgbImage } from '../../src/vision/types.ts';
import { syntheticImage } from './helpers.ts';

function hfProcessor(cfg: ImageProcessorConfig) {
  return new Qwen2VLImageProcessor({
    do_convert_rgb: true,
    do_resize: true,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    resample: 3,
    image_mean: cfg.imageMean,
    image_std: cfg.imageStd,
    min_pixels: cfg.minPixels,
    max_pixels: cfg.maxPixels,
    patch_size: cfg.patchSize,
    temporal_patch_size: cfg.temporalPatchSize,
    merge_size: cfg.mergeSize,
  });
}

async function hf(img: RgbImage, cfg: ImageProcessorConfig) {
  const out = await hfProcessor(cfg)(new RawImage(new Uint8ClampedArray(img.data), img.width, img.height, 3));
  return {
    pixelValues: out.pixel_values.data as Float32Array,
    dims: out.pixel_values.dims as number[],
    gridThw: Array.from(out.image_grid_thw.data as BigInt64Array, Number),
  };
}

const small: ImageProcessorConfig = { ...qwen25VlImageProcessor, maxPixels: 28 * 28 * 24 };

// (width, height, config): a multiple of 28, non-multiples, tall, wide, and larger than
// max_pixels (with a small max_pixels to keep the test fast). No side lands on a rounding tie,
// where transformers.js rounds half up and Python (and we) to even: tested below.
const cases: [number, number, ImageProcessorConfig][] = [
  [56, 84, qwen25VlImageProcessor],
  [100, 61, qwen25VlImageProcessor],
  [45, 230, qwen25VlImageProcessor],
  [333, 40, qwen25VlImageProcessor],
  [300, 200, small],
  [20, 17, qwen25VlImageProcessor],
];

test('pixelValues and grid match transformers.js after the resize', async () => {
  for (const [width, height, cfg] of cases) {
    const img = syntheticImage(width, height, width * height);
    const ours = await preprocessImage(img, cfg);
    const size = smartResize(height, width, cfg.patchSize * cfg.mergeSize, cfg.minPixels, cfg.maxPixels);
    const theirs = await hf(await resizeBicubic(img, size.width, size.height), cfg);
    const original = await hf(img, cfg);
    const label = `${width}x${height}`;
    assert.equal(ours.gridThw, original.gridThw, `${label}: grid`);
    assert.equal(theirs.gridThw, original.gridThw, `${label}: grid after resize`);
    assert.equal([ours.pixelValues.length / 1176, 1176], theirs.dims, `${label}: shape`);
    assert.is(ours.tokenCount, (ours.gridThw[0] * ours.gridThw[1] * ours.gridThw[2]) / 4, `${label}: tokens`);
    let worst = 0;
    for (let i = 0; i < theirs.pixelValues.length; i++) worst = Math.max(worst, Math.abs(ours.pixelValues[i]! - theirs.pixelValues[i]!));
    assert.ok(worst < 1e-5, `${label}: max |difference| ${worst}`);
  }
});

test('smartResize: multiples of 28 within [min, max] pixels, aspect kept', () => {
  const f = 28;
  assert.equal(smartResize(84, 56, f, 3136, 1003520), { height: 84, width: 56 });
  assert.equal(smartResize(61, 100, f, 3136, 1003520), { height: 56, width: 112 });
  // Larger than max_pixels: both sides shrink by the same factor, then floor to 28.
  assert.equal(smartResize(2000, 3000, f, 3136, 1003520), { height: 812, width: 1204 });
  // Smaller than min_pixels: grow, then ceil to 28.
  assert.equal(smartResize(20, 17, f, 3136, 1003520), { height: 84, width: 56 });
});

test('smartResize rounds ties to even like Python (transformers.js rounds half up)', () => {
  // 70 / 28 = 2.5 → 2; 42 / 28 = 1.5 → 2; 126 / 28 = 4.5 → 4.
  assert.equal(smartResize(70, 42, 28, 3136, 1003520), { height: 56, width: 56 });
  assert.equal(smartResize(126, 140, 28, 3136, 1003520), { height: 112, width: 140 });
});

test('smartResize follows Python for sides under 28 (no separate upscaling step)', () => {
  // round(10/28) = 0 → area 0 < min_pixels → scaled by sqrt(3136 / 1000) and ceiled.
  assert.equal(smartResize(10, 100, 28, 3136, 1003520), { height: 28, width: 196 });
  assert.equal(smartResize(1, 1, 28, 3136, 1003520), { height: 56, width: 56 });
});

test('an aspect ratio over 200 is refused', () => {
  assert.throws(() => smartResize(1, 201, 28, 3136, 1003520), /aspect ratio/);
  assert.equal(smartResize(1, 200, 28, 3136, 1003520).height, 28);
});

test.run();
