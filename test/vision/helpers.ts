// Shared by the vision tests: fixture images and synthetic RGB images.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../src/vision/types.ts';

export const imageFixtures = join(import.meta.dirname, '..', 'fixtures', 'images');

/** A PNG fixture as RGB, read with sharp (lossless, so the bytes are the file's pixels). */
export async function readPngFixture(name: string): Promise<RgbImage> {
  const { data, info } = await sharp(readFileSync(join(imageFixtures, name))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** A deterministic image with gradients and hashed noise. */
export function syntheticImage(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = Math.floor((x * 255) / Math.max(1, width - 1));
      data[o + 1] = Math.floor((y * 255) / Math.max(1, height - 1));
      data[o + 2] = Math.imul(x * 73856093 + y * 19349663 + seed, 2654435761) >>> 24;
    }
  }
  return { width, height, data };
}
