// loadImageProcessorConfig: Hugging Face's preprocessor_config.json keys, defaults, bad files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageProcessorConfig, qwen25VlImageProcessor } from '../../src/vision/config.ts';

function withFile(contents: string | undefined, check: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'xllm-ppc-'));
  try {
    if (contents !== undefined) writeFileSync(join(dir, 'preprocessor_config.json'), contents);
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('no file: Qwen2.5-VL defaults', () => {
  withFile(undefined, (dir) => assert.equal(loadImageProcessorConfig(dir), qwen25VlImageProcessor));
});

test("Qwen2.5-VL's own file (with processor keys we do not use) reads as its values", () => {
  const file = {
    min_pixels: 3136, max_pixels: 12845056, patch_size: 14, temporal_patch_size: 2, merge_size: 2,
    image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711],
    image_processor_type: 'Qwen2VLImageProcessor', processor_class: 'Qwen2_5_VLProcessor', resample: 3,
  };
  withFile(JSON.stringify(file), (dir) => assert.equal(loadImageProcessorConfig(dir), { ...qwen25VlImageProcessor, maxPixels: 12845056 }));
});

test('size.{shortest,longest}_edge spell min/max pixels; explicit min/max_pixels win', () => {
  withFile(JSON.stringify({ size: { shortest_edge: 1000, longest_edge: 2000 } }), (dir) => {
    const cfg = loadImageProcessorConfig(dir);
    assert.equal([cfg.minPixels, cfg.maxPixels], [1000, 2000]);
  });
  withFile(JSON.stringify({ size: { shortest_edge: 1000, longest_edge: 2000 }, max_pixels: 5000 }), (dir) => {
    assert.is(loadImageProcessorConfig(dir).maxPixels, 5000);
  });
});

test('bad files are errors naming the problem', () => {
  withFile('{', (dir) => assert.throws(() => loadImageProcessorConfig(dir), /is not valid JSON/));
  withFile(JSON.stringify({ patch_size: 0 }), (dir) => assert.throws(() => loadImageProcessorConfig(dir), /patch_size/));
  withFile(JSON.stringify({ image_std: [1, 0, 1] }), (dir) => assert.throws(() => loadImageProcessorConfig(dir), /image_std must be positive/));
  withFile(JSON.stringify({ min_pixels: 10, max_pixels: 5 }), (dir) => assert.throws(() => loadImageProcessorConfig(dir), /min_pixels 10 exceeds max_pixels 5/));
});

test.run();
