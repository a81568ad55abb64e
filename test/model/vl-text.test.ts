import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { argmax } from '../reference/decoder.ts';
import { Qwen25VlReference, type Grid, type MropePosition } from '../reference/qwen2_5_vl.ts';
import { mropePositions } from '../../src/vision/prompt-tokens.ts';
import { EngineSession, maxAbsDiff } from './engine-session.ts';
import { pseudoPixels, readVlManifest, vlFeeds } from './vl-session.ts';

const TOLERANCE = 1e-4;
const dir = ensureModel('tiny-vl', 'fp32');
const manifest = readVlManifest(dir);
const reference = Qwen25VlReference.load(ensureCheckpoint('tiny-vl'));
const { visionStart, visionEnd, imagePad } = manifest.vision.tokens;

const text = (n: number, salt: number) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 13) % 151000);
// Two images with transposed grids, so height and width positions differ between them.
const grids: Grid[] = [
  [1, 4, 6],
  [1, 6, 4],
];
const imageBlock = ([t, h, w]: Grid) => [visionStart, ...new Array<number>((t * h * w) / 4).fill(imagePad), visionEnd];
const prompt = [...text(5, 1), ...imageBlock(grids[0]!), ...text(3, 2), ...imageBlock(grids[1]!), ...text(4, 3)];
// Image embeddings as float32 values, the same numbers for the graph and the reference.
const embeds = reference
  .visionEmbeddings(pseudoPixels(grids.reduce((n, [t, h, w]) => n + t * h * w, 0) * reference.vision.patchInput, 7), grids)
  .map((row) => Float32Array.from(row));
const { positions, next } = reference.ropeIndex(prompt, grids);
const same = (p: number): MropePosition => [p, p, p];

/** Image rows for a prefill chunk [from, to) of `ids` (batch row 0), indices within the chunk. */
function chunkImages(ids: number[], from: number, to: number, imageRowsBefore: number) {
  const images: { row: number; index: number; embedding: Float32Array }[] = [];
  let k = imageRowsBefore;
  for (let i = from; i < to; i++) if (ids[i] === imagePad) images.push({ row: 0, index: i - from, embedding: embeds[k++]! });
  return images;
}

const check = (got: Float32Array, want: Float32Array, what: string) => {
  const diff = maxAbsDiff(got, want);
  assert.ok(diff < TOLERANCE, `${what}: max abs diff ${diff}`);
};

test('a prefill with two images (M-RoPE positions, scattered embeddings) and 5 decode steps match the reference', async () => {
  assert.ok(next < prompt.length, 'image positions must compress the sequence');
  const engine = await EngineSession.open(dir, 1, 64);
  const ref = reference.newSequence();
  const want = ref.forward(prompt, positions, embeds.map((e) => Float64Array.from(e)));
  const got = await engine.forward(0, [prompt], prompt.map((_, i) => i), vlFeeds(manifest, [positions], chunkImages(prompt, 0, prompt.length, 0)));
  want.forEach((row, i) => check(got[i]!, row, `prefill token ${i}`));
  let token = argmax(want.at(-1)!);
  const generated = [token];
  for (let step = 0; step < 5; step++) {
    const position = [same(next + step)];
    const [row] = await engine.forward(0, [[token]], [0], vlFeeds(manifest, [position]));
    const [expected] = ref.forward([token], position);
    check(row!, expected!, `decode step ${step}`);
    token = argmax(expected!);
    generated.push(token);
  }
  assert.ok(new Set(generated).size > 2, `greedy output too repetitive: ${generated}`);
});

test("src/vision's mropePositions gives the reference's get_rope_index for the two-image prompt", () => {
  const images = grids.map((gridThw) => ({ pixelValues: new Float32Array(0), gridThw, tokenCount: (gridThw[0] * gridThw[1] * gridThw[2]) / 4 }));
  const got = mropePositions(prompt, images, { visionStart, imagePad });
  assert.is(got.nextPosition, next);
  const n = prompt.length;
  assert.equal(
    prompt.map((_, i) => [got.positions[i], got.positions[n + i], got.positions[2 * n + i]]),
    positions,
  );
});

test('image_positions index the current chunk: a prefill split inside an image block matches the reference', async () => {
  const split = 9; // inside the first image's pad run
  assert.is(prompt[split], imagePad);
  const engine = await EngineSession.open(dir, 1, 64);
  const want = reference.newSequence().forward(prompt, positions, embeds.map((e) => Float64Array.from(e)));
  const first = prompt.slice(0, split);
  const rest = prompt.slice(split);
  await engine.forward(0, [first], [first.length - 1], vlFeeds(manifest, [positions.slice(0, split)], chunkImages(prompt, 0, split, 0)));
  const padsBefore = first.filter((t) => t === imagePad).length;
  const got = await engine.forward(0, [rest], rest.map((_, i) => i), vlFeeds(manifest, [positions.slice(split)], chunkImages(prompt, split, prompt.length, padsBefore)));
  got.forEach((row, i) => check(row, want[split + i]!, `second chunk token ${i}`));
});

test('a text-only prompt on the VL graph equals the plain Qwen2 reference, also in a decode batch beside an image row', async () => {
  const words = text(12, 4);
  const engine = await EngineSession.open(dir, 2, 64);
  const plain = reference.text.newSequence();
  const want = plain.forward(words);
  const got = await engine.forward(0, [words], words.map((_, i) => i), vlFeeds(manifest, [words.map((_, i) => same(i))]));
  want.forEach((row, i) => check(got[i]!, row, `text-only token ${i}`));

  const imageRow = reference.newSequence();
  const imageLogits = imageRow.forward(prompt, positions, embeds.map((e) => Float64Array.from(e))).at(-1)!;
  await engine.forward(1, [prompt], [prompt.length - 1], vlFeeds(manifest, [positions], chunkImages(prompt, 0, prompt.length, 0)));
  let tokens = [argmax(want.at(-1)!), argmax(imageLogits)];
  for (let step = 0; step < 3; step++) {
    const rowPositions = [[same(words.length + step)], [same(next + step)]];
    const rows = await engine.forward(0, tokens.map((t) => [t]), [0, 1], vlFeeds(manifest, rowPositions));
    const [plainWant] = plain.forward([tokens[0]!]);
    const [imageWant] = imageRow.forward([tokens[1]!], rowPositions[1]!);
    check(rows[0]!, plainWant!, `text row, decode step ${step}`);
    check(rows[1]!, imageWant!, `image row, decode step ${step}`);
    tokens = [argmax(plainWant!), argmax(imageWant!)];
  }
});

test.run();
