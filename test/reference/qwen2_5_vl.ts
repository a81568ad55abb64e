// A plain Qwen2.5-VL forward pass for tests, written the way transformers computes it:
// float64 loops over the checkpoint, the vision tower with its window reordering and
// variable-length attention segments (cu_seqlens), the 2-D rotary, the patch merger, and the
// text model with M-RoPE positions from get_rope_index and image embeddings in place of the
// image-pad tokens. The converter's graphs compute the same things differently (masks
// instead of reordering), which is what these references check.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DecoderReference, type ReferenceSequence } from './decoder.ts';

export type Grid = [t: number, h: number, w: number];
/** (temporal, height, width) position of one token. */
export type MropePosition = [number, number, number];

interface VisionConfig {
  depth: number;
  hidden: number;
  intermediate: number;
  heads: number;
  headDim: number;
  patchInput: number;
  merge: number;
  /** Window side in merged tokens (window_size / merge / patch). */
  mergedWindow: number;
  fullAttention: Set<number>;
}

const RMS_EPS = 1e-6;
const VISION_THETA = 10000;

function erf(x: number): number {
  // Maclaurin series: exact to float64 rounding for |x| < 6; beyond, erf is ±1 to 1e-17.
  if (Math.abs(x) >= 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function rmsNorm(x: Float64Array, weight: Float32Array): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + RMS_EPS);
  return x.map((v, i) => v * inv * weight[i]!);
}

/** y = W x + b, W stored [out, in]. */
function linear(w: Float32Array, x: Float64Array, out: number, bias: Float32Array): Float64Array {
  const n = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let acc = bias[o]!;
    for (let i = 0; i < n; i++) acc += w[o * n + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

export class Qwen25VlReference {
  readonly vision: VisionConfig;
  readonly mropeSection: number[];
  readonly tokens: { visionStart: number; imagePad: number };

  private constructor(
    readonly text: DecoderReference,
    raw: Record<string, any>,
  ) {
    const v = raw.vision_config;
    this.vision = {
      depth: v.depth,
      hidden: v.hidden_size,
      intermediate: v.intermediate_size,
      heads: v.num_heads,
      headDim: v.hidden_size / v.num_heads,
      patchInput: (v.in_channels ?? 3) * v.temporal_patch_size * v.patch_size * v.patch_size,
      merge: v.spatial_merge_size,
      mergedWindow: v.window_size / v.spatial_merge_size / v.patch_size,
      fullAttention: new Set(v.fullatt_block_indexes),
    };
    this.mropeSection = raw.rope_scaling.mrope_section;
    this.tokens = { visionStart: raw.vision_start_token_id, imagePad: raw.image_token_id };
  }

  static load(dir: string): Qwen25VlReference {
    return new Qwen25VlReference(DecoderReference.load(dir), JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  }

  /** Image embeddings, one row per merged token, images in order (HF's visual(pixel_values, grid_thw)). */
  visionEmbeddings(pixels: Float32Array, grids: Grid[]): Float64Array[] {
    const c = this.vision;
    const unit = c.merge * c.merge;
    const w = (name: string) => this.text.tensor(`visual.${name}`);
    const patches = grids.reduce((n, [t, h, ww]) => n + t * h * ww, 0);
    if (pixels.length !== patches * c.patchInput) throw new Error(`reference: ${pixels.length} pixel values for ${patches} patches`);

    const embedWeight = w('patch_embed.proj.weight');
    const zeros = new Float32Array(c.hidden);
    let x = Array.from({ length: patches }, (_, p) => linear(embedWeight, Float64Array.from(pixels.subarray(p * c.patchInput, (p + 1) * c.patchInput)), c.hidden, zeros));

    // rot_pos_emb: (row, col) of every patch, in the processor's merge-window-contiguous order.
    const coords: [number, number][] = [];
    for (const [t, h, ww] of grids) {
      for (let f = 0; f < t; f++)
        for (let bh = 0; bh < h / c.merge; bh++)
          for (let bw = 0; bw < ww / c.merge; bw++)
            for (let i = 0; i < c.merge; i++) for (let j = 0; j < c.merge; j++) coords.push([bh * c.merge + i, bw * c.merge + j]);
    }

    // get_window_index: merged tokens regrouped window by window, with window boundaries.
    const windowIndex: number[] = [];
    const windowBounds = [0];
    let offset = 0;
    for (const [t, h, ww] of grids) {
      const lh = h / c.merge;
      const lw = ww / c.merge;
      const ws = c.mergedWindow;
      const nwh = Math.floor((lh + ws - (lh % ws)) / ws);
      const nww = Math.floor((lw + ws - (lw % ws)) / ws);
      for (let f = 0; f < t; f++)
        for (let wr = 0; wr < nwh; wr++)
          for (let wc = 0; wc < nww; wc++) {
            let count = 0;
            for (let r = wr * ws; r < Math.min(lh, (wr + 1) * ws); r++)
              for (let col = wc * ws; col < Math.min(lw, (wc + 1) * ws); col++) {
                windowIndex.push(offset + f * lh * lw + r * lw + col);
                count++;
              }
            if (count > 0) windowBounds.push(windowBounds.at(-1)! + count * unit);
          }
      offset += t * lh * lw;
    }
    const frameBounds = [0];
    for (const [t, h, ww] of grids) for (let f = 0; f < t; f++) frameBounds.push(frameBounds.at(-1)! + h * ww);

    const reorder = <T>(rows: T[]): T[] => windowIndex.flatMap((m) => rows.slice(m * unit, (m + 1) * unit));
    x = reorder(x);
    const positions = reorder(coords);

    for (let b = 0; b < c.depth; b++) {
      const p = `blocks.${b}`;
      const bounds = c.fullAttention.has(b) ? frameBounds : windowBounds;
      const attn = this.visionAttention(x.map((row) => rmsNorm(row, w(`${p}.norm1.weight`))), positions, bounds, p);
      x = x.map((row, i) => row.map((v, d) => v + attn[i]![d]!));
      x = x.map((row) => {
        const h = rmsNorm(row, w(`${p}.norm2.weight`));
        const gate = linear(w(`${p}.mlp.gate_proj.weight`), h, c.intermediate, w(`${p}.mlp.gate_proj.bias`));
        const up = linear(w(`${p}.mlp.up_proj.weight`), h, c.intermediate, w(`${p}.mlp.up_proj.bias`));
        const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
        const down = linear(w(`${p}.mlp.down_proj.weight`), act, c.hidden, w(`${p}.mlp.down_proj.bias`));
        return row.map((v, d) => v + down[d]!);
      });
    }

    const outHidden = this.text.config.hidden;
    const merged: Float64Array[] = [];
    for (let m = 0; m < patches / unit; m++) {
      const group = new Float64Array(unit * c.hidden);
      for (let k = 0; k < unit; k++) group.set(rmsNorm(x[m * unit + k]!, w('merger.ln_q.weight')), k * c.hidden);
      const hidden = linear(w('merger.mlp.0.weight'), group, unit * c.hidden, w('merger.mlp.0.bias')).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      merged.push(linear(w('merger.mlp.2.weight'), hidden, outHidden, w('merger.mlp.2.bias')));
    }
    const restored = new Array<Float64Array>(merged.length);
    windowIndex.forEach((m, i) => (restored[m] = merged[i]!));
    return restored;
  }

  /** Multi-head attention within each [bounds[i], bounds[i+1]) segment, with the 2-D rotary. */
  private visionAttention(x: Float64Array[], positions: [number, number][], bounds: number[], p: string): Float64Array[] {
    const c = this.vision;
    const w = (name: string) => this.text.tensor(`visual.${p}.${name}`);
    const quarter = c.headDim / 4;
    const rotate = (v: Float64Array, [row, col]: [number, number]) => {
      const half = c.headDim / 2;
      for (let h = 0; h < c.heads; h++) {
        for (let i = 0; i < half; i++) {
          // The first quarter of frequencies turns with the row, the second with the column.
          const position = i < quarter ? row : col;
          const angle = position / VISION_THETA ** ((2 * (i % quarter)) / half);
          const a = v[h * c.headDim + i]!;
          const b = v[h * c.headDim + i + half]!;
          v[h * c.headDim + i] = a * Math.cos(angle) - b * Math.sin(angle);
          v[h * c.headDim + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
        }
      }
    };
    const qkv = x.map((row) => linear(w('attn.qkv.weight'), row, 3 * c.hidden, w('attn.qkv.bias')));
    const q = qkv.map((r, i) => {
      const v = r.slice(0, c.hidden);
      rotate(v, positions[i]!);
      return v;
    });
    const k = qkv.map((r, i) => {
      const v = r.slice(c.hidden, 2 * c.hidden);
      rotate(v, positions[i]!);
      return v;
    });
    const v = qkv.map((r) => r.slice(2 * c.hidden));
    const out = x.map(() => new Float64Array(c.hidden));
    for (let s = 0; s + 1 < bounds.length; s++) {
      for (let i = bounds[s]!; i < bounds[s + 1]!; i++) {
        for (let h = 0; h < c.heads; h++) {
          const o = h * c.headDim;
          const scores: number[] = [];
          for (let j = bounds[s]!; j < bounds[s + 1]!; j++) {
            let dot = 0;
            for (let d = 0; d < c.headDim; d++) dot += q[i]![o + d]! * k[j]![o + d]!;
            scores.push(dot / Math.sqrt(c.headDim));
          }
          const max = Math.max(...scores);
          const exps = scores.map((z) => Math.exp(z - max));
          const sum = exps.reduce((a, b) => a + b, 0);
          exps.forEach((e, jj) => {
            for (let d = 0; d < c.headDim; d++) out[i]![o + d]! += (e / sum) * v[bounds[s]! + jj]![o + d]!;
          });
        }
      }
    }
    return out.map((row) => linear(w('attn.proj.weight'), row, c.hidden, w('attn.proj.bias')));
  }

  /**
   * get_rope_index for a prompt whose images are already expanded to their pad tokens:
   * positions per token, and the position the first generated token takes on all three axes.
   */
  ropeIndex(ids: number[], grids: Grid[]): { positions: MropePosition[]; next: number } {
    const positions: MropePosition[] = [];
    let nextText = 0;
    let image = 0;
    for (let i = 0; i < ids.length; ) {
      if (ids[i] === this.tokens.imagePad && ids[i - 1] === this.tokens.visionStart) {
        const [t, h, w] = grids[image++]!;
        const lh = h / this.vision.merge;
        const lw = w / this.vision.merge;
        // Still images: every temporal index is 0 (second_per_grid_t = 0).
        for (let f = 0; f < t; f++) for (let r = 0; r < lh; r++) for (let c = 0; c < lw; c++) positions.push([nextText, nextText + r, nextText + c]);
        nextText += Math.max(lh, lw);
        i += t * lh * lw;
      } else {
        positions.push([nextText, nextText, nextText]);
        nextText++;
        i++;
      }
    }
    if (image !== grids.length) throw new Error(`reference: ${grids.length} grids for ${image} images in the prompt`);
    return { positions, next: nextText };
  }

  newSequence(): VlReferenceSequence {
    return new VlReferenceSequence(this, this.text.newSequence());
  }
}

export class VlReferenceSequence {
  constructor(
    private readonly model: Qwen25VlReference,
    private readonly inner: ReferenceSequence,
  ) {}

  /**
   * Appends tokens at the given M-RoPE positions; image-pad tokens take the next row of
   * `imageEmbeds` instead of their token embedding. Returns one logits row per token.
   */
  forward(ids: number[], positions: MropePosition[], imageEmbeds: Float64Array[] = []): Float32Array[] {
    const sectionOf: number[] = this.model.mropeSection.flatMap((n, s) => new Array<number>(n).fill(s));
    let nextImageRow = 0;
    return ids.map((id, i) => {
      const embedding = id === this.model.tokens.imagePad ? imageEmbeds[nextImageRow++] : this.model.text.embedding(id);
      if (!embedding) throw new Error('reference: more image-pad tokens than image embeddings');
      const position = positions[i]!;
      return this.inner.append(embedding, (frequency) => position[sectionOf[frequency]!]!);
    });
  }
}
