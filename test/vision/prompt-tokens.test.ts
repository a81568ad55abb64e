// expandImagePads and mropePositions against transformers.js's Qwen2-VL `get_rope_index`
// and a plain reference written from the definition (vision_start search, as Hugging Face does).
import { Qwen2VLForConditionalGeneration, Tensor } from '@huggingface/transformers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VisionInputError } from '../../src/vision/errors.ts';
import { expandImagePads, mropePositions } from '../../src/vision/prompt-tokens.ts';
import type { PreparedImage } from '../../src/vision/types.ts';

const VISION_START = 151652;
const VISION_END = 151653;
const IMAGE_PAD = 151655;
const VIDEO_PAD = 151656;
const ids = { visionStart: VISION_START, imagePad: IMAGE_PAD };

function image(t: number, h: number, w: number): PreparedImage {
  return { pixelValues: new Float32Array(0), gridThw: [t, h, w], tokenCount: (t * h * w) / 4 };
}

/** Text tokens (ids 1..n), with `<vs><pad><ve>` where the prompt has an image. */
function templatePrompt(textRuns: number[]): number[] {
  const out: number[] = [];
  textRuns.forEach((n, i) => {
    for (let k = 0; k < n; k++) out.push(1000 + k);
    if (i < textRuns.length - 1) out.push(VISION_START, IMAGE_PAD, VISION_END);
  });
  return out;
}

/** get_rope_index of transformers.js, on a stand-in for the model (it only reads the config). */
function transformersJsPositions(tokens: number[], images: PreparedImage[]): number[] {
  const proto = Qwen2VLForConditionalGeneration.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const model = {
    config: { vision_config: { spatial_merge_size: 2 }, image_token_id: IMAGE_PAD, video_token_id: VIDEO_PAD, vision_start_token_id: VISION_START },
    _get_multimodal_rope_positions: proto._get_multimodal_rope_positions,
    _reorder_and_write_positions: proto._reorder_and_write_positions,
  };
  const inputIds = new Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]);
  const grid = new Tensor('int64', BigInt64Array.from(images.flatMap((i) => i.gridThw), BigInt), [images.length, 3]);
  const [positions] = proto.get_rope_index!.call(model, inputIds, grid, null, null) as [Tensor];
  return Array.from(positions.data as BigInt64Array, Number);
}

/** The definition, written plainly: walk image blocks found after each vision_start. */
function referencePositions(tokens: number[], images: PreparedImage[]): { t: number[]; h: number[]; w: number[]; next: number } {
  const t: number[] = [];
  const h: number[] = [];
  const w: number[] = [];
  let next = 0;
  let k = 0;
  for (let i = 0; i < tokens.length; i++) {
    const startsImage = tokens[i] === IMAGE_PAD && tokens[i - 1] === VISION_START;
    if (!startsImage) {
      t.push(next), h.push(next), w.push(next++);
      continue;
    }
    const [gt, gh, gw] = images[k++]!.gridThw;
    for (let f = 0; f < gt; f++) for (let r = 0; r < gh / 2; r++) for (let c = 0; c < gw / 2; c++) t.push(next + f), h.push(next + r), w.push(next + c);
    i += (gt * gh * gw) / 4 - 1;
    next = Math.max(...t, ...h, ...w) + 1;
  }
  return { t, h, w, next };
}

const scenarios: { name: string; runs: number[]; images: PreparedImage[] }[] = [
  { name: 'text only', runs: [7], images: [] },
  { name: 'one square image', runs: [5, 4], images: [image(1, 4, 4)] },
  { name: 'tall then wide image', runs: [3, 2, 6], images: [image(1, 12, 4), image(1, 2, 16)] },
  { name: 'image first, adjacent images', runs: [0, 0, 3], images: [image(1, 6, 8), image(1, 2, 2)] },
];

test('expandImagePads puts tokenCount pads where each placeholder was', () => {
  const prompt = templatePrompt([2, 1, 1]);
  const expanded = expandImagePads(prompt, [image(1, 4, 2), image(1, 2, 2)], IMAGE_PAD);
  assert.equal(expanded, [1000, 1001, VISION_START, IMAGE_PAD, IMAGE_PAD, VISION_END, 1000, VISION_START, IMAGE_PAD, VISION_END, 1000]);
  assert.throws(() => expandImagePads(prompt, [image(1, 2, 2)], IMAGE_PAD), (e: Error) => e instanceof VisionInputError && /2 image placeholders for 1 images/.test(e.message));
});

test('mropePositions matches transformers.js get_rope_index and the plain definition', () => {
  for (const { name, runs, images } of scenarios) {
    const tokens = expandImagePads(templatePrompt(runs), images, IMAGE_PAD);
    const { positions, nextPosition } = mropePositions(tokens, images, ids);
    const ref = referencePositions(tokens, images);
    assert.equal(Array.from(positions), [...ref.t, ...ref.h, ...ref.w], name);
    assert.is(nextPosition, ref.next, `${name}: next position`);
    if (images.length > 0) assert.equal(Array.from(positions), transformersJsPositions(tokens, images), `${name}: transformers.js`);
    else assert.is(nextPosition, tokens.length, name);
  }
});

test('mropePositions: an image continues text from the largest grid side', () => {
  // <vs> at 0; 2x3 merged tokens at offset 1; text resumes at 1 + max(1, 2, 3) = 4.
  const tokens = [VISION_START, ...Array(6).fill(IMAGE_PAD), VISION_END];
  const { positions, nextPosition } = mropePositions(tokens, [image(1, 4, 6)], ids);
  assert.equal(Array.from(positions.subarray(0, 8)), [0, 1, 1, 1, 1, 1, 1, 4]);
  assert.equal(Array.from(positions.subarray(8, 16)), [0, 1, 1, 1, 2, 2, 2, 4]);
  assert.equal(Array.from(positions.subarray(16, 24)), [0, 1, 2, 3, 1, 2, 3, 4]);
  assert.is(nextPosition, 5);
});

test('mropePositions refuses prompts whose pads do not fit the images', () => {
  const two = [VISION_START, ...Array(4).fill(IMAGE_PAD), VISION_END];
  assert.throws(() => mropePositions(two, [], ids), /more image blocks/);
  assert.throws(() => mropePositions(two, [image(1, 2, 2)], ids), /more than 1 pad tokens/);
  assert.throws(() => mropePositions(two, [image(1, 4, 6)], ids), /needs 6 pad tokens/);
  assert.throws(() => mropePositions([1, 2], [image(1, 2, 2)], ids), /0 image blocks for 1 images/);
  assert.throws(() => mropePositions([1, IMAGE_PAD], [image(1, 2, 2)], ids), /not preceded by <\|vision_start\|>/);
});

test.run();
