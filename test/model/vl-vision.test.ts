import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { Qwen25VlReference, type Grid } from '../reference/qwen2_5_vl.ts';
import { maxAbsDiff } from './engine-session.ts';
import { VisionSession, pseudoPixels } from './vl-session.ts';

const TOLERANCE = 1e-4;
const dir = ensureModel('tiny-vl', 'fp32');
const reference = Qwen25VlReference.load(ensureCheckpoint('tiny-vl'));
const opened = VisionSession.open(dir);

async function check(grids: Grid[], seed: number): Promise<void> {
  const patches = grids.reduce((n, [t, h, w]) => n + t * h * w, 0);
  const pixels = pseudoPixels(patches * reference.vision.patchInput, seed);
  const got = await (await opened).embed(pixels, grids);
  const want = reference.visionEmbeddings(pixels, grids);
  assert.is(got.length, patches / 4);
  want.forEach((row, i) => {
    const diff = maxAbsDiff(got[i]!, Float32Array.from(row));
    assert.ok(diff < TOLERANCE, `merged token ${i}: max abs diff ${diff}`);
  });
  // Window attention must matter: tokens of distinct images/windows are not copies.
  assert.ok(maxAbsDiff(got[0]!, got.at(-1)!) > 0.1);
}

test('one image of 16×20 patches (windows cut at the right edge) matches the reference', () => check([[1, 16, 20]], 1));

test('two images of different grids, a run each, match the reference over both', () => check([[1, 10, 8], [1, 6, 18]], 2));

test('a grid with two frames keeps attention within each frame', () => check([[2, 8, 10]], 3));

test.run();
