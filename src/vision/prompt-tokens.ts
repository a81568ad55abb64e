// Image tokens in the prompt. The chat template writes `<|vision_start|><|image_pad|><|vision_end|>`
// once per image; the model needs one `<|image_pad|>` per merged patch, and M-RoPE positions
// in which an image's tokens carry their (frame, row, column) in the merged grid.
import { VisionInputError } from './errors.ts';
import type { PreparedImage } from './types.ts';

/** Replaces the k-th `padId` with `images[k].tokenCount` copies of it. */
export function expandImagePads(ids: readonly number[], images: readonly PreparedImage[], padId: number): number[] {
  const placeholders = ids.reduce((n, id) => (id === padId ? n + 1 : n), 0);
  if (placeholders !== images.length) {
    throw new VisionInputError(`the prompt has ${placeholders} image placeholders for ${images.length} images`);
  }
  const out: number[] = [];
  let image = 0;
  for (const id of ids) {
    if (id !== padId) out.push(id);
    else for (let i = images[image++]!.tokenCount; i > 0; i--) out.push(padId);
  }
  return out;
}

/** The token ids M-RoPE positions depend on (named as in the model manifest's `tokens`). */
export interface MropeTokens {
  visionStart: number;
  imagePad: number;
  /** Patches merged per side into one token (2 for Qwen2.5-VL). */
  spatialMergeSize?: number;
}

/**
 * Qwen2-VL's `get_rope_index` for one prompt whose pads are already expanded.
 * `positions` is [3, ids.length] (temporal, height, width components, row-major). Text tokens
 * take the next position on all three components; an image block of (t, h, w) merged tokens,
 * in row-major order, gets (start + frame, start + row, start + column), where start is the
 * position the first pad would have had as text, and the text after it continues from the
 * largest of those plus one. `nextPosition` is where decoding continues (all three components
 * equal, one more per generated token).
 */
export function mropePositions(
  ids: readonly number[],
  images: readonly PreparedImage[],
  tokens: MropeTokens,
): { positions: Int32Array; nextPosition: number } {
  const merge = tokens.spatialMergeSize ?? 2;
  const n = ids.length;
  const positions = new Int32Array(3 * n);
  let next = 0;
  let image = 0;
  for (let i = 0; i < n; ) {
    if (ids[i] !== tokens.imagePad) {
      positions[i] = positions[n + i] = positions[2 * n + i] = next++;
      i++;
      continue;
    }
    const prepared = images[image];
    if (!prepared) throw new VisionInputError(`the prompt has more image blocks than the ${images.length} images given`);
    if (ids[i - 1] !== tokens.visionStart) throw new VisionInputError(`image ${image} is not preceded by <|vision_start|>`);
    const [t, gridH, gridW] = prepared.gridThw;
    const h = gridH / merge;
    const w = gridW / merge;
    const count = t * h * w;
    if (count !== prepared.tokenCount) throw new Error(`image ${image}: grid ${prepared.gridThw.join('x')} does not give ${prepared.tokenCount} tokens at merge ${merge}`);
    for (let j = 0; j < count; j++) {
      if (ids[i + j] !== tokens.imagePad) throw new VisionInputError(`image ${image} needs ${count} pad tokens in the prompt`);
      positions[i + j] = next + Math.floor(j / (h * w));
      positions[n + i + j] = next + (Math.floor(j / w) % h);
      positions[2 * n + i + j] = next + (j % w);
    }
    if (ids[i + count] === tokens.imagePad) throw new VisionInputError(`image ${image} has more than ${count} pad tokens in the prompt`);
    next += Math.max(t, h, w);
    i += count;
    image++;
  }
  if (image !== images.length) throw new VisionInputError(`the prompt has ${image} image blocks for ${images.length} images`);
  return { positions, nextPosition: next };
}
