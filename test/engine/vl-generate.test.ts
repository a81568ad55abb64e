// The engine on the tiny Qwen2.5-VL model against the plain reference forward pass
// (test/reference/qwen2_5_vl.ts): images through the vision graph, M-RoPE positions in
// prefill (also split inside an image block) and decode, batching beside a text-only request,
// n and beam siblings, and the prefix cache stopping at the first image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { EngineError } from '../../src/engine/errors.ts';
import type { EngineOptions } from '../../src/engine/types.ts';
import type { PreparedImage } from '../../src/vision/types.ts';
import { pseudoPixels } from '../model/vl-session.ts';
import { argmax } from '../reference/decoder.ts';
import { Qwen25VlReference, type Grid } from '../reference/qwen2_5_vl.ts';
import { collect, greedyRequest, loadTiny, logSoftmax, randomTokens, type Collected } from './helpers.ts';

const dir = ensureModel('tiny-vl', 'fp32');
const reference = Qwen25VlReference.load(ensureCheckpoint('tiny-vl'));
const loadVl = (options: EngineOptions = {}) => Engine.load(dir, { threads: 1, ...options });
const STEPS = 6;

function image(grid: Grid, seed: number): PreparedImage {
  const [t, h, w] = grid;
  return { pixelValues: pseudoPixels(t * h * w * reference.vision.patchInput, seed), gridThw: grid, tokenCount: (t * h * w) / 4 };
}

/** Text, then per image `<|vision_start|>`, its expanded pads, `<|vision_end|>` and more text. */
function vlPrompt(images: PreparedImage[], seed: number): number[] {
  const { visionStart, imagePad } = reference.tokens;
  const visionEnd = visionStart + 1;
  const prompt = randomTokens(seed, 5);
  images.forEach((img, k) => prompt.push(visionStart, ...new Array<number>(img.tokenCount).fill(imagePad), visionEnd, ...randomTokens(seed + k + 1, 3)));
  return prompt;
}

/** The reference's logits rows for `tokens` = prompt + continuation (decode positions continue at `next`). */
function referenceRows(prompt: number[], images: PreparedImage[], continuation: number[]) {
  const grids = images.map((img) => img.gridThw);
  const pixels = Float32Array.from(images.flatMap((img) => Array.from(img.pixelValues)));
  const embeds = images.length > 0 ? reference.visionEmbeddings(pixels, grids) : [];
  const { positions, next } = reference.ropeIndex(prompt, grids);
  const seq = reference.newSequence();
  const rows = seq.forward(prompt, positions, embeds);
  continuation.forEach((token, s) => rows.push(...seq.forward([token], [[next + s, next + s, next + s]])));
  return rows;
}

interface Greedy {
  tokens: number[];
  logprobs: number[];
}

function referenceGreedy(prompt: number[], images: PreparedImage[], steps: number): Greedy {
  const grids = images.map((img) => img.gridThw);
  const pixels = Float32Array.from(images.flatMap((img) => Array.from(img.pixelValues)));
  const seq = reference.newSequence();
  const { positions, next } = reference.ropeIndex(prompt, grids);
  let logits = seq.forward(prompt, positions, images.length > 0 ? reference.visionEmbeddings(pixels, grids) : []).at(-1)!;
  const out: Greedy = { tokens: [], logprobs: [] };
  for (let s = 0; s < steps; s++) {
    const token = argmax(logits);
    out.tokens.push(token);
    out.logprobs.push(logSoftmax(logits)[token]!);
    logits = seq.forward([token], [[next + s, next + s, next + s]])[0]!;
  }
  return out;
}

/** Same greedy tokens as the reference, and logprobs close enough that the image rows must be right. */
function assertReference(got: Collected, want: Greedy, what: string): void {
  assert.equal(got.tokens[0], want.tokens, what);
  const logprobs = got.events.flatMap((e) => (e.type === 'delta' && e.index === 0 ? e.tokens.map((t) => t.logprob!) : []));
  logprobs.forEach((lp, s) => assert.ok(Math.abs(lp - want.logprobs[s]!) < 1e-3, `${what}: token ${s} logprob ${lp} vs reference ${want.logprobs[s]}`));
}

const oneImage = [image([1, 4, 6], 11)];
const twoImages = [image([1, 4, 6], 11), image([1, 8, 6], 12)];
const cases = [
  { name: 'one image', images: oneImage, prompt: vlPrompt(oneImage, 1) },
  { name: 'two images', images: twoImages, prompt: vlPrompt(twoImages, 2) },
  { name: 'text only', images: [], prompt: randomTokens(3, 14) },
];
const expected = cases.map((c) => referenceGreedy(c.prompt, c.images, STEPS));

test('greedy tokens equal the reference for 1 and 2 images and text only, also with a prefill chunk that splits image blocks', async () => {
  const chunk = 5;
  const splits = cases[1]!.prompt.some((id, i) => i % chunk === 0 && id === reference.tokens.imagePad && cases[1]!.prompt[i - 1] === id);
  assert.ok(splits, 'the chunk size must cut through an image block');
  for (const prefillChunkTokens of [512, chunk]) {
    const engine = await loadVl({ prefillChunkTokens });
    for (const [i, c] of cases.entries()) {
      const got = await collect(engine.generate(greedyRequest(c.name, c.prompt, STEPS, { images: c.images, logprobs: 0 })));
      assertReference(got, expected[i]!, `${c.name}, prefill chunk ${prefillChunkTokens}`);
      const first = got.events[0]!;
      assert.ok(first.type === 'prompt' && first.promptTokens === c.prompt.length, 'prompt tokens count the image pads');
    }
    await engine.close();
  }
});

test('image requests batched with a text-only request each equal the reference', async () => {
  const engine = await loadVl({ maxBatchSize: 4, prefillChunkTokens: 7 });
  const got = await Promise.all(cases.map((c) => collect(engine.generate(greedyRequest(c.name, c.prompt, STEPS, { images: c.images, logprobs: 0 })))));
  got.forEach((g, i) => assertReference(g, expected[i]!, cases[i]!.name));
  await engine.close();
});

test('n = 2 siblings and beam search continue the image prompt at its M-RoPE positions', async () => {
  const engine = await loadVl({ maxBatchSize: 4 });
  const { prompt, images } = cases[1]!;
  const n2 = await collect(engine.generate(greedyRequest('n2', prompt, STEPS, { images, n: 2 })));
  assert.equal(n2.tokens, [expected[1]!.tokens, expected[1]!.tokens]);

  const beams = await collect(engine.generate(greedyRequest('beam', prompt, 4, { images, beam: { width: 2, candidatesPerBeam: 2 }, logprobs: 0 })));
  for (const event of beams.events) {
    if (event.type !== 'delta') continue;
    const tokens = event.tokens.map((t) => t.tokenId);
    const rows = referenceRows(prompt, images, tokens);
    event.tokens.forEach((t, s) => {
      const want = logSoftmax(rows[prompt.length - 1 + s]!)[t.tokenId]!;
      assert.ok(Math.abs(t.logprob! - want) < 1e-3, `beam ${event.index} token ${s}: logprob ${t.logprob} vs reference ${want}`);
    });
  }
  await engine.close();
});

test('the prefix cache reuses the text before the first image only, never another image', async () => {
  const engine = await loadVl({ maxBatchSize: 1, enablePrefixCache: true });
  const { prompt } = cases[0]!;
  const otherImage = [image([1, 4, 6], 99)];
  await collect(engine.generate(greedyRequest('first', prompt, STEPS, { images: oneImage })));
  const second = await collect(engine.generate(greedyRequest('second', prompt, STEPS, { images: otherImage, logprobs: 0 })));
  const want = referenceGreedy(prompt, otherImage, STEPS);
  assert.ok(Math.abs(want.logprobs[0]! - expected[0]!.logprobs[0]!) > 0.01, 'the other image must change the output');
  assertReference(second, want, 'second image');
  const first = second.events[0]!;
  assert.ok(first.type === 'prompt' && first.cachedTokens === prompt.indexOf(reference.tokens.imagePad), 'cache stops at the first pad');
  await engine.close();
});

test('after sleep level 2 (both sessions released) and wake-up, an image request still equals the reference', async () => {
  const engine = await loadVl();
  await engine.sleep(2);
  await engine.wakeUp();
  const { name, prompt, images } = cases[0]!;
  assertReference(await collect(engine.generate(greedyRequest(name, prompt, STEPS, { images, logprobs: 0 }))), expected[0]!, 'after wake-up');
  await engine.close();
});

test('bad image input is INVALID_ARGUMENT; /v1/sample is not offered on the VL model', async () => {
  const engine = await loadVl();
  const { prompt, images } = cases[1]!;
  const invalid = (run: () => unknown, pattern: RegExp) => {
    try {
      run();
      assert.unreachable('accepted');
    } catch (error) {
      assert.instance(error, EngineError);
      assert.is((error as EngineError).code, 'INVALID_ARGUMENT');
      assert.match((error as EngineError).message, pattern);
    }
  };
  invalid(() => engine.generate(greedyRequest('fewer', prompt, 1, { images: images.slice(0, 1) })), /image/);
  invalid(() => engine.generate(greedyRequest('short pads', prompt.filter((_, i) => i !== 8), 1, { images })), /pad/);
  invalid(() => engine.generate(greedyRequest('pixels', prompt, 1, { images: [images[0]!, { ...images[1]!, pixelValues: new Float32Array(10) }] })), /pixel values/);
  const refused = await engine.sample({ requestId: 's', prompt: 'a b', selector: 'b', logprobs: 1 }).then(() => null, (error: Error) => error);
  assert.match(String(refused), /not offered on a vision-language model/);
  await engine.close();

  const text = await loadTiny();
  invalid(() => text.generate(greedyRequest('text model', [1, 2, 3], 1, { images })), /no images/);
  await text.close();
});

test.run();
