// The tiny Qwen2.5-VL model on webgpu: the vision graph and the text graph on the device, an
// image prompt (M-RoPE positions, image rows) beside a text-only one, against the cpu engine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { pseudoPixels } from '../model/vl-session.ts';
import { Qwen25VlReference } from '../reference/qwen2_5_vl.ts';
import { collect, greedyRequest, randomTokens } from '../engine/helpers.ts';
import { assertSameRun } from './compare.ts';

test('an image prompt beside a text prompt: the same tokens and logprobs as on the cpu', async () => {
  const dir = ensureModel('tiny-vl', 'fp32');
  const { vision, tokens } = Qwen25VlReference.load(ensureCheckpoint('tiny-vl'));
  const grid: [number, number, number] = [1, 4, 6];
  const image = { pixelValues: pseudoPixels(grid[0] * grid[1] * grid[2] * vision.patchInput, 11), gridThw: grid, tokenCount: (grid[0] * grid[1] * grid[2]) / 4 };
  const prompt = [...randomTokens(1, 5), tokens.visionStart, ...new Array<number>(image.tokenCount).fill(tokens.imagePad), tokens.visionStart + 1, ...randomTokens(2, 3)];
  const requests = [greedyRequest('image', prompt, 4, { images: [image], logprobs: 0 }), greedyRequest('text', randomTokens(3, 14), 4, { logprobs: 0 })];
  const [cpu, gpu] = await Promise.all([Engine.load(dir, { device: 'cpu', threads: 1 }), Engine.load(dir, { device: 'webgpu' })]);
  try {
    assert.is(gpu.device, 'webgpu');
    const [onGpu, onCpu] = await Promise.all([gpu, cpu].map((engine) => Promise.all(requests.map((r) => collect(engine.generate(r))))));
    onGpu.forEach((got, i) => assertSameRun(got, onCpu[i], requests[i].requestId, requests[i].promptTokens.length));
  } finally {
    await Promise.all([cpu.close(), gpu.close()]);
  }
});

test.run();
