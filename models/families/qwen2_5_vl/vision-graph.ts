// The Qwen2.5-VL vision tower as one ONNX graph:
//   pixel_values float32 [numPatches, channels·temporal·patch²]  (1176 for the released models)
//   grid_thw     int64   [1, 3]  (t, h, w) in patches: one image (or video) a run
//   → image_embeds float32 [numPatches / merge², text hidden]
// Patch embedding (a stride-equals-kernel Conv3d, i.e. a MatMul), blocks of RMSNorm →
// attention with the 2-D rotary → RMSNorm → SwiGLU, window attention (over window slots, see
// patch-layout.ts) except in the full-attention blocks, then the merger (RMSNorm, merge²
// patches → Linear → GELU → Linear). The caller keeps grid_thw consistent with the rows:
// t·h·w = numPatches, h and w multiples of the merge size.
//
// One image a run, because the full-attention blocks attend within each frame: the run's t
// frames are then equal-sized batches for com.microsoft.MultiHeadAttention, whose CPU kernel
// is flash attention and never holds the [heads, P, P] scores (1.7 GB at max_pixels for a
// 16-head tower). Images are independent in the tower, so per-image runs give the same rows.
import type { GraphBuilder } from '../../onnx/graph.ts';
import { DataType, attr } from '../../onnx/graph.ts';
import { rotateHalf } from '../../decoder/rope.ts';
import type { WeightEmitter } from '../../decoder/weights.ts';
import { VISION_ROPE_THETA, type Qwen25VlConfig } from './config.ts';
import { buildPatchLayout } from './patch-layout.ts';

const MS = 'com.microsoft';

export const VISION_IO = { pixelValues: 'pixel_values', gridThw: 'grid_thw', imageEmbeds: 'image_embeds' } as const;

/** cos and sin [P, 1, headDim] of the 2-D rotary: a quarter of the frequencies per axis, then the same again. */
function rotaryTables(g: GraphBuilder, rows: string, cols: string, headDim: number): { cos: string; sin: string } {
  const quarter = headDim / 4;
  const inverse = Array.from({ length: quarter }, (_, i) => 1 / VISION_ROPE_THETA ** ((2 * i) / (headDim / 2)));
  const frequencies = g.float32s('vision.rotary.inv_freq', inverse, [1, quarter]);
  const angles = (positions: string, name: string) => {
    const column = g.op('Unsqueeze', [g.op('Cast', [positions], { name: `${name}/float`, attrs: { to: attr.int(DataType.FLOAT) } }), g.int64s(`${name}.axes`, [1])], { name: `${name}/column` });
    return g.op('Mul', [column, frequencies], { name });
  };
  const rowAngles = angles(rows, 'vision.rotary.row');
  const colAngles = angles(cols, 'vision.rotary.col');
  const full = g.op('Concat', [rowAngles, colAngles, rowAngles, colAngles], { name: 'vision.rotary.angles', attrs: { axis: attr.int(1) } });
  const perHead = (op: 'Cos' | 'Sin') => g.op('Unsqueeze', [g.op(op, [full], { name: `vision.rotary.${op}` }), g.int64s(`vision.rotary.${op}.axes`, [1])], { name: `vision.rotary.${op}/heads` });
  return { cos: perHead('Cos'), sin: perHead('Sin') };
}

export function buildVisionGraph(g: GraphBuilder, w: WeightEmitter, config: Qwen25VlConfig): typeof VISION_IO {
  const v = config.vision;
  const d = v.hiddenSize;
  const eps = attr.float(1e-6);
  const pixelValues = g.input(VISION_IO.pixelValues, DataType.FLOAT, ['num_patches', v.patchInputSize]);
  const gridThw = g.input(VISION_IO.gridThw, DataType.INT64, [1, 3]);

  const layout = buildPatchLayout(g, pixelValues, gridThw, v);
  const rotary = rotaryTables(g, layout.rows, layout.cols, v.headDim);
  const norm = (x: string, weight: string, width: number) =>
    g.op('SimplifiedLayerNormalization', [x, w.vector(weight, width)], { name: weight, attrs: { axis: attr.int(-1), epsilon: eps, stash_type: attr.int(1) } });
  const headsShape = g.int64s('vision.shape.heads', [0, v.numHeads, v.headDim]);
  const flatShape = g.int64s('vision.shape.flat', [-1, d]);
  const qkvSplit = g.int64s('vision.split.qkv', [d, d, d]);
  const gateUpSplit = g.int64s('vision.split.gate_up', [v.intermediateSize, v.intermediateSize]);
  const scale = g.float32s('vision.attention.scale', [1 / Math.sqrt(v.headDim)], []);

  const windowed = {
    cos: layout.toWindows(rotary.cos, [1, v.headDim], 'window_cos'),
    sin: layout.toWindows(rotary.sin, [1, v.headDim], 'window_sin'),
    groups: g.int64s('vision.shape.window_groups', [-1, layout.windowSlots, v.numHeads, v.headDim]),
  };
  // [t, h·w, D]: the frames of the run's one image.
  const frameCount = g.op('Gather', [gridThw, g.int64s('vision.grid.t', [0], [])], { name: 'vision.frames', attrs: { axis: attr.int(1) } });
  const framesShape = g.op('Concat', [frameCount, g.int64s('vision.shape.frame_rows', [-1, d])], { name: 'vision.shape.frames', attrs: { axis: attr.int(0) } });

  /** q and k [N, heads, headDim] rotated by cos/sin, v [N, D], from rows [N, D]. */
  const projectQkv = (rows: string, p: string, cos: string, sin: string) => {
    const qkv = w.linear(rows, [{ name: `${p}.attn.qkv.weight`, out: 3 * d }], d, [`${p}.attn.qkv.bias`]);
    const [q, k, val] = g.node('Split', [qkv, qkvSplit], { name: `${p}.qkv_split`, outputs: 3, attrs: { axis: attr.int(-1) } });
    const heads = (t: string, name: string) => g.op('Reshape', [t, headsShape], { name: `${p}.${name}/heads` });
    return { q: rotateHalf(g, heads(q!, 'q'), cos, sin, `${p}.q_rotary`), k: rotateHalf(g, heads(k!, 'k'), cos, sin, `${p}.k_rotary`), v: val! };
  };

  /** Attention within each window, over window-slot rows [windows · slots, D]; empty slots are masked as keys. */
  const windowAttention = (rows: string, p: string) => {
    const { q, k, v: val } = projectQkv(rows, p, windowed.cos, windowed.sin);
    const grouped = (t: string, perm: number[], name: string) =>
      g.op('Transpose', [g.op('Reshape', [t, windowed.groups], { name: `${p}.${name}/groups` })], { name: `${p}.${name}/t`, attrs: { perm: attr.ints(perm) } });
    const qT = grouped(q, [0, 2, 1, 3], 'q'); // [windows, heads, slots, hd]
    const kT = grouped(k, [0, 2, 3, 1], 'k'); // [windows, heads, hd, slots]
    const vT = grouped(val, [0, 2, 1, 3], 'v');
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [qT, kT], { name: `${p}.scores` }), scale], { name: `${p}.scaled` }), layout.windowKeyBias], { name: `${p}.masked` });
    const probs = g.op('Softmax', [scores], { name: `${p}.softmax`, attrs: { axis: attr.int(-1) } });
    const context = g.op('Transpose', [g.op('MatMul', [probs, vT], { name: `${p}.context` })], { name: `${p}.context_t`, attrs: { perm: attr.ints([0, 2, 1, 3]) } });
    return g.op('Reshape', [context, flatShape], { name: `${p}.context/flat` });
  };

  /** Attention within each frame, over patch rows [P, D]. */
  const frameAttention = (rows: string, p: string) => {
    const { q, k, v: val } = projectQkv(rows, p, rotary.cos, rotary.sin);
    const frames = (t: string, name: string) => g.op('Reshape', [t, framesShape], { name: `${p}.${name}/frames` });
    const context = g.op('MultiHeadAttention', [frames(q, 'q'), frames(k, 'k'), frames(val, 'v')], {
      name: `${p}.attn`,
      domain: MS,
      attrs: { num_heads: attr.int(v.numHeads), scale: attr.float(1 / Math.sqrt(v.headDim)) },
    });
    return g.op('Reshape', [context, flatShape], { name: `${p}.context/flat` });
  };

  let x = w.linear(pixelValues, [{ name: 'visual.patch_embed.proj.weight', out: d, stored: [d, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize] }], v.patchInputSize);
  for (let b = 0; b < v.depth; b++) {
    const p = `visual.blocks.${b}`;
    const normed = norm(x, `${p}.norm1.weight`, d);
    const context = v.fullAttentionBlocks.includes(b) ? frameAttention(normed, p) : layout.fromWindows(windowAttention(layout.toWindows(normed, [d], `${p}.windows`), p), `${p}.patches`);
    x = g.op('Add', [x, w.linear(context, [{ name: `${p}.attn.proj.weight`, out: d }], d, [`${p}.attn.proj.bias`])], { name: `${p}.attn_residual` });

    const gateUp = w.linear(
      norm(x, `${p}.norm2.weight`, d),
      ['gate', 'up'].map((t) => ({ name: `${p}.mlp.${t}_proj.weight`, out: v.intermediateSize })),
      d,
      ['gate', 'up'].map((t) => `${p}.mlp.${t}_proj.bias`),
    );
    const [gate, up] = g.node('Split', [gateUp, gateUpSplit], { name: `${p}.gate_up_split`, outputs: 2, attrs: { axis: attr.int(-1) } });
    const silu = g.op('Mul', [gate!, g.op('Sigmoid', [gate!], { name: `${p}.silu` })], { name: `${p}.silu` });
    const act = g.op('Mul', [silu, up!], { name: `${p}.gated` });
    x = g.op('Add', [x, w.linear(act, [{ name: `${p}.mlp.down_proj.weight`, out: d }], v.intermediateSize, [`${p}.mlp.down_proj.bias`])], { name: `${p}.mlp_residual` });
  }

  const merged = d * v.spatialMergeSize * v.spatialMergeSize;
  const grouped = g.op('Reshape', [norm(x, 'visual.merger.ln_q.weight', d), g.int64s('vision.shape.merged', [-1, merged])], { name: 'visual.merger.group' });
  const hidden = w.linear(grouped, [{ name: 'visual.merger.mlp.0.weight', out: merged }], merged, ['visual.merger.mlp.0.bias']);
  const gelu = g.op('Gelu', [hidden], { name: 'visual.merger.gelu', domain: MS });
  const out = w.linear(gelu, [{ name: 'visual.merger.mlp.2.weight', out: v.outHiddenSize }], merged, ['visual.merger.mlp.2.bias']);
  g.op('Identity', [out], { name: 'visual.output', output: VISION_IO.imageEmbeds });
  g.output(VISION_IO.imageEmbeds, DataType.FLOAT, ['num_image_tokens', v.outHiddenSize]);
  return VISION_IO;
}
