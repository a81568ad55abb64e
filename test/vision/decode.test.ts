// decodeImage: the four accepted formats decode to RGB (alpha flattened on white, GIF's first
// frame), everything else and corrupt or oversized images are VisionInputError.
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImage } from '../../src/vision/decode.ts';
import { VisionInputError } from '../../src/vision/errors.ts';
import { syntheticImage } from './helpers.ts';

const source = syntheticImage(23, 11);
const rgb = () => sharp(source.data, { raw: { width: source.width, height: source.height, channels: 3 } });

function solid(r: number, g: number, b: number) {
  return sharp({ create: { width: 6, height: 4, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

async function refused(bytes: Uint8Array, pattern: RegExp, options?: { maxPixels: number }): Promise<void> {
  try {
    await decodeImage(bytes, options);
  } catch (error) {
    assert.instance(error, VisionInputError);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable('decoded');
}

test('PNG decodes to the exact pixels', async () => {
  const img = await decodeImage(await rgb().png().toBuffer());
  assert.equal([img.width, img.height], [23, 11]);
  assert.equal(img.data, source.data);
});

test('JPEG and WebP decode to the right size and close pixels', async () => {
  // Smooth content: lossy codecs keep it within a few levels.
  const smooth = Uint8Array.from(source.data, (v, i) => (i % 3 === 2 ? 90 : v));
  const encoder = () => sharp(smooth, { raw: { width: source.width, height: source.height, channels: 3 } });
  for (const bytes of [await encoder().jpeg({ quality: 95 }).toBuffer(), await encoder().webp({ quality: 95 }).toBuffer()]) {
    const img = await decodeImage(bytes);
    assert.equal([img.width, img.height, img.data.length], [23, 11, 23 * 11 * 3]);
    const meanError = img.data.reduce((sum, v, i) => sum + Math.abs(v - smooth[i]!), 0) / img.data.length;
    assert.ok(meanError < 6, `mean error ${meanError}`);
  }
});

test('grey and 16-bit PNGs become 8-bit RGB', async () => {
  const grey = await sharp(Buffer.alloc(12, 100), { raw: { width: 4, height: 3, channels: 1 } }).png().toBuffer();
  assert.ok((await decodeImage(grey)).data.every((v) => v === 100));
  const deep = await sharp(Buffer.alloc(12, 200), { raw: { width: 4, height: 3, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  const img = await decodeImage(deep);
  assert.is(img.data.length, 36);
  assert.ok(img.data.every((v) => v === 200));
});

test('transparent pixels are flattened onto white', async () => {
  // Opaque red, half-transparent red, fully transparent black.
  const rgba = Buffer.from([255, 0, 0, 255, 255, 0, 0, 128, 0, 0, 0, 0]);
  const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toBuffer();
  const { data } = await decodeImage(png);
  const expected = [255, 0, 0, 255, 127, 127, 255, 255, 255];
  data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1, `byte ${i}: ${v} vs ${expected[i]}`));
});

test('an animated GIF gives its first frame', async () => {
  const gif = await sharp([await solid(255, 0, 0), await solid(0, 0, 255)], { join: { animated: true } }).gif().toBuffer();
  const img = await decodeImage(gif);
  assert.equal([img.width, img.height], [6, 4]);
  for (let i = 0; i < img.data.length; i += 3) assert.equal([...img.data.subarray(i, i + 3)], [255, 0, 0]);
});

test('other formats are refused before decoding: SVG, BMP, TIFF, text, empty', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><image href="file:///etc/passwd"/></svg>');
  const bmp = Buffer.from([0x42, 0x4d, ...new Array(60).fill(0)]);
  const tiff = await rgb().tiff().toBuffer();
  for (const bytes of [svg, bmp, tiff, Buffer.from('hello'), new Uint8Array(0)]) {
    await refused(bytes, /unsupported image format: expected JPEG, PNG, WebP or GIF/);
  }
});

test('corrupt and truncated images are refused', async () => {
  const png = await rgb().png().toBuffer();
  await refused(png.subarray(0, png.length - 30), /corrupt or unreadable png image/);
  const jpeg = await rgb().jpeg().toBuffer();
  await refused(jpeg.subarray(0, Math.floor(jpeg.length / 2)), /corrupt or unreadable jpeg image/);
  await refused(Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBP'), Buffer.alloc(20, 7)]), /corrupt or unreadable webp image/);
  await refused(Buffer.from('GIF89a'), /corrupt or unreadable gif image/);
});

test('images larger than maxPixels are refused from their header', async () => {
  const big = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: 'white' } }).png().toBuffer();
  await refused(big, /2000x1000 pixels, more than the limit of 1000000/, { maxPixels: 1_000_000 });
  assert.is((await decodeImage(big, { maxPixels: 2_000_000 })).width, 2000);
});

test.run();
