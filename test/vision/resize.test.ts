// resizeBicubic against Pillow's BICUBIC resize (the resize inside Hugging Face's Qwen2-VL
// processor): the fixtures were written by test/vision/pil-resize-reference.py.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resizeBicubic } from '../../src/vision/resize.ts';
import { imageFixtures, readPngFixture, syntheticImage } from './helpers.ts';

const reference = JSON.parse(readFileSync(join(imageFixtures, 'resize-pil.json'), 'utf8')) as { source: string; targets: [number, number][] };

test('resizeBicubic matches Pillow byte for byte (down, up, mixed, one axis)', async () => {
  const source = await readPngFixture(reference.source);
  for (const [width, height] of reference.targets) {
    const expected = await readPngFixture(`resize-pil-${width}x${height}.png`);
    const actual = await resizeBicubic(source, width, height);
    assert.is(actual.width, width);
    assert.is(actual.height, height);
    const differing = actual.data.findIndex((v, i) => v !== expected.data[i]);
    assert.is(differing, -1, `${width}x${height}: first differing byte at ${differing}`);
  }
});

test('resizeBicubic to the same size returns the pixels unchanged', async () => {
  const img = syntheticImage(31, 17);
  const before = img.data.slice();
  assert.equal((await resizeBicubic(img, 31, 17)).data, before);
});

test('resizeBicubic keeps a flat colour flat', async () => {
  const flat = { width: 9, height: 13, data: new Uint8Array(9 * 13 * 3).fill(77) };
  for (const [w, h] of [[28, 28], [3, 5], [9, 40]] as const) {
    assert.ok((await resizeBicubic(flat, w, h)).data.every((v) => v === 77), `${w}x${h}`);
  }
});

test('resizing a large image lets the event loop turn, and every sliced row is filled', async () => {
  const big = { width: 4000, height: 3000, data: new Uint8Array(4000 * 3000 * 3).fill(77) };
  let turns = 0;
  let done = false;
  const tick = () => {
    turns++;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  const resized = await resizeBicubic(big, 1148, 868);
  done = true;
  assert.ok(turns > 1, `the event loop turned ${turns} time(s) during the resize`);
  // A row a slice boundary skipped would stay 0.
  assert.ok(resized.data.every((v) => v === 77));
});

test.run();
