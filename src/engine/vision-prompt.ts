// A vision-language prompt inside the engine: the M-RoPE positions of its tokens, where
// decoding continues, and which prompt tokens take image embeddings instead of their token
// embedding. Positions and KV indices differ here: an image block of h×w merged tokens takes
// only max(h, w) positions, so a sequence's KV length stays its token count while its next
// rotary position is that count plus `ropeDelta` (≤ 0).
import type { MropeManifest } from '../model/manifest.ts';
import { VisionInputError } from '../vision/errors.ts';
import { mropePositions } from '../vision/prompt-tokens.ts';
import type { PreparedImage } from '../vision/types.ts';
import { EngineError } from './errors.ts';

export interface VisionPrompt {
  /** [3, promptLength]: temporal, height and width components, row-major. */
  readonly positions: Int32Array;
  /** Decode position = KV index + ropeDelta, on all three components. */
  readonly ropeDelta: number;
  /** Prompt indices of the image-pad tokens in order: embedding row k replaces pad k. */
  readonly padIndices: Int32Array;
  /** The images, until handed to the vision graph (then null). */
  images: PreparedImage[] | null;
  /** [pads, hiddenSize] image embeddings from the vision graph until the prefill has used them. */
  embeds: Float32Array | null;
}

/** Checks the images against the prompt's pad blocks; any mismatch is INVALID_ARGUMENT. */
export function visionPrompt(prompt: readonly number[], images: PreparedImage[], manifest: MropeManifest): VisionPrompt {
  const { patchInputSize, spatialMergeSize, tokens } = manifest.vision;
  images.forEach(({ pixelValues, gridThw: [t, h, w] }, k) => {
    if (pixelValues.length !== t * h * w * patchInputSize) {
      throw new EngineError('INVALID_ARGUMENT', `image ${k}: ${pixelValues.length} pixel values for a ${t}x${h}x${w} patch grid of ${patchInputSize}`, 'images');
    }
  });
  let mrope: ReturnType<typeof mropePositions>;
  try {
    mrope = mropePositions(prompt, images, { ...tokens, spatialMergeSize });
  } catch (error) {
    if (error instanceof VisionInputError) throw new EngineError('INVALID_ARGUMENT', error.message, 'images');
    throw error;
  }
  const padIndices: number[] = [];
  prompt.forEach((id, i) => id === tokens.imagePad && padIndices.push(i));
  return { positions: mrope.positions, ropeDelta: mrope.nextPosition - prompt.length, padIndices: Int32Array.from(padIndices), images, embeds: null };
}

export interface ChunkImages {
  /** [N, hiddenSize] rows for the chunk's pads. */
  embeds: Float32Array;
  /** [N, 2] (batch row 0, index within the chunk) of each row. */
  at: BigInt64Array;
}

/**
 * The inputs of prefill chunk [start, end) (one batch row): its M-RoPE positions
 * [3, 1, end - start], and the embedding rows of the pads inside it, which may be part of an
 * image block split by the chunking.
 */
export function chunkInputs(v: VisionPrompt, start: number, end: number, hiddenSize: number): { mrope: Int32Array; images?: ChunkImages } {
  const n = v.positions.length / 3;
  const length = end - start;
  const mrope = new Int32Array(3 * length);
  for (let c = 0; c < 3; c++) mrope.set(v.positions.subarray(c * n + start, c * n + end), c * length);
  const first = firstAtOrAfter(v.padIndices, start);
  const last = firstAtOrAfter(v.padIndices, end);
  if (first === last) return { mrope };
  if (!v.embeds) throw new Error('vision prompt: image embeddings requested before the vision graph ran');
  const at = new BigInt64Array(2 * (last - first));
  for (let k = first; k < last; k++) at[2 * (k - first) + 1] = BigInt(v.padIndices[k] - start);
  return { mrope, images: { embeds: v.embeds.subarray(first * hiddenSize, last * hiddenSize), at } };
}

function firstAtOrAfter(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
