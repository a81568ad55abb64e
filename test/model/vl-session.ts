// Test helpers for the Qwen2.5-VL graphs: vision.onnx on pixels + grids, and the text graph's
// extra inputs (M-RoPE position_ids [3, batch, seq], image_embeds / image_positions).
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { hasVision, readManifest, type MropeManifest } from '../../src/model/manifest.ts';
import type { Grid, MropePosition } from '../reference/qwen2_5_vl.ts';

export function readVlManifest(dir: string): MropeManifest {
  const m = readManifest(dir);
  if (!hasVision(m)) throw new Error(`${dir}: not a vision-language model`);
  return m;
}

/** Deterministic values spread like normalized pixels (about -1.8 .. 2.1). */
export function pseudoPixels(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 3.9 - 1.8;
  });
}

export class VisionSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly manifest: MropeManifest,
  ) {}

  static async open(dir: string): Promise<VisionSession> {
    const manifest = readVlManifest(dir);
    return new VisionSession(await ort.InferenceSession.create(join(dir, manifest.vision.graph), { intraOpNumThreads: 1 }), manifest);
  }

  /** Image embeddings, one row per merged token; `pixels` holds the images' patches in order, one run each. */
  async embed(pixels: Float32Array, grids: Grid[]): Promise<Float32Array[]> {
    const v = this.manifest.vision;
    const rows: Float32Array[] = [];
    let at = 0;
    for (const grid of grids) {
      const patches = grid[0] * grid[1] * grid[2];
      const image = pixels.subarray(at * v.patchInputSize, (at + patches) * v.patchInputSize);
      at += patches;
      const out = await this.session.run({
        [v.inputs.pixelValues]: new ort.Tensor('float32', image, [patches, v.patchInputSize]),
        [v.inputs.gridThw]: new ort.Tensor('int64', BigInt64Array.from(grid, BigInt), [1, 3]),
      });
      const embeds = out[v.outputs.imageEmbeds]!;
      const [count, width] = embeds.dims as [number, number];
      const data = embeds.data as Float32Array;
      for (let r = 0; r < count; r++) rows.push(data.subarray(r * width, (r + 1) * width));
    }
    return rows;
  }
}

/** The VL text graph's inputs beyond input_ids for one pass over `positions` ([rows][seq]). */
export function vlFeeds(m: MropeManifest, positions: MropePosition[][], images: { row: number; index: number; embedding: ArrayLike<number> }[] = []): Record<string, ort.Tensor> {
  const rows = positions.length;
  const seq = positions[0]!.length;
  const ids = new BigInt64Array(3 * rows * seq);
  positions.forEach((row, r) => row.forEach((p, i) => p.forEach((value, axis) => (ids[(axis * rows + r) * seq + i] = BigInt(value)))));
  const embeds = new Float32Array(images.length * m.hiddenSize);
  images.forEach((img, k) => embeds.set(img.embedding, k * m.hiddenSize));
  return {
    [m.inputs.positionIds]: new ort.Tensor('int64', ids, [3, rows, seq]),
    [m.inputs.imageEmbeds]: new ort.Tensor('float32', embeds, [images.length, m.hiddenSize]),
    [m.inputs.imagePositions]: new ort.Tensor('int64', BigInt64Array.from(images.flatMap((img) => [BigInt(img.row), BigInt(img.index)])), [images.length, 2]),
  };
}
