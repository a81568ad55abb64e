// The Qwen2.5-VL language model as an engine-layout graph: the Qwen2 engine graph (GQA over
// the in-place KV cache, logits_indices) with M-RoPE positions and image embeddings
// scattered over the token embeddings.
//
// Inputs beyond the Qwen2 engine graph's:
//   position_ids    int64 [3, batch, seq]  (temporal, height, width) per token; text tokens
//                                          carry the same value three times
//   image_embeds    float32 [N, hidden]    vision.onnx output rows for the image-pad tokens
//                                          of this call (N may be 0)
//   image_positions int64 [N, 2]           (batch row, token index within this call's seq)
//                                          where each image_embeds row replaces the token embedding
import type { GraphBuilder } from '../../onnx/graph.ts';
import { DataType, attr } from '../../onnx/graph.ts';
import type { DecoderConfig } from '../../decoder/config.ts';
import { buildEngineGraph, type EngineGraphVariant, type EngineIo, type Rotate } from '../../decoder/engine-graph.ts';
import { ropeTables } from '../../decoder/rope.ts';
import type { WeightEmitter } from '../../decoder/weights.ts';

export const IMAGE_EMBEDS = 'image_embeds';
export const IMAGE_POSITIONS = 'image_positions';

/** Columns [from, to) of a row-major [rows, width] table. */
function columns(table: Float32Array, rows: number, width: number, from: number, to: number): Float32Array {
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(table.subarray(r * width + from, r * width + to), r * (to - from));
  return out;
}

/**
 * M-RoPE: rotary frequency i of the head_dim/2 turns with position component s(i), where
 * mrope_section splits the frequencies into contiguous (temporal, height, width) runs. The
 * per-token cos/sin are gathered once per section from slices of the usual tables, then the
 * rotate-half rotation is applied with plain ops (GroupQueryAttention's rotary takes one
 * position per token).
 */
function mropeVariant(section: [number, number, number]): EngineGraphVariant {
  return {
    positions(g, c) {
      const input = g.input('position_ids', DataType.INT64, [3, 'batch', 'seq']);
      const rope = ropeTables(c);
      const gathered = { cos: [] as string[], sin: [] as string[] };
      let from = 0;
      section.forEach((width, s) => {
        const component = g.op('Gather', [input, g.int64s(`mrope.component${s}`, [s], [])], { name: `mrope.positions${s}`, attrs: { axis: attr.int(0) } });
        for (const kind of ['cos', 'sin'] as const) {
          const table = g.initializer(`rope.${kind}.section${s}`, DataType.FLOAT, [rope.positions, width], columns(rope[kind], rope.positions, rope.half, from, from + width));
          gathered[kind].push(g.op('Gather', [table, component], { name: `mrope.${kind}${s}` }));
        }
        from += width;
      });
      // [batch, seq, half] → [batch, seq, 1, half], broadcast over heads.
      const perHead = (kind: 'cos' | 'sin') =>
        g.op('Unsqueeze', [g.op('Concat', gathered[kind], { name: `mrope.${kind}`, attrs: { axis: attr.int(-1) } }), g.int64s(`mrope.${kind}.head_axis`, [2])], { name: `mrope.${kind}/heads` });
      const cos = perHead('cos');
      const sin = perHead('sin');
      const headShapes = new Map<number, string>();
      const flatShape = g.int64s('mrope.shape.flat', [0, 0, -1]);
      const rotate: Rotate = (t, heads, name) => {
        if (!headShapes.has(heads)) headShapes.set(heads, g.int64s(`mrope.shape.heads${heads}`, [0, 0, heads, c.headDim]));
        const x = g.op('Reshape', [t, headShapes.get(heads)!], { name: `${name}/heads` });
        const [x1, x2] = g.node('Split', [x], { name: `${name}/halves`, outputs: 2, attrs: { axis: attr.int(-1) } });
        const mul = (a: string, b: string, tag: string) => g.op('Mul', [a, b], { name: `${name}/${tag}` });
        const first = g.op('Sub', [mul(x1!, cos, 'x1cos'), mul(x2!, sin, 'x2sin')], { name: `${name}/first` });
        const second = g.op('Add', [mul(x2!, cos, 'x2cos'), mul(x1!, sin, 'x1sin')], { name: `${name}/second` });
        const rotated = g.op('Concat', [first, second], { name: `${name}/concat`, attrs: { axis: attr.int(-1) } });
        return g.op('Reshape', [rotated, flatShape], { name: `${name}/flat` });
      };
      return { input, rotary: { rotate } };
    },
    embeddings(g, tokens, c) {
      const hidden = g.input(IMAGE_EMBEDS, DataType.FLOAT, ['num_image_tokens', c.hiddenSize]);
      const positions = g.input(IMAGE_POSITIONS, DataType.INT64, ['num_image_tokens', 2]);
      return g.op('ScatterND', [tokens, positions, hidden], { name: 'scatter_image_embeds' });
    },
  };
}

export interface VlTextIo extends EngineIo {
  inputs: EngineIo['inputs'] & { imageEmbeds: string; imagePositions: string };
}

export function buildVlTextGraph(g: GraphBuilder, w: WeightEmitter, c: DecoderConfig, mropeSection: [number, number, number]): VlTextIo {
  const io = buildEngineGraph(g, w, c, mropeVariant(mropeSection));
  return { ...io, inputs: { ...io.inputs, imageEmbeds: IMAGE_EMBEDS, imagePositions: IMAGE_POSITIONS } };
}
