// The engine's serving graph of a decoder-only model (Qwen2, Qwen3, Llama, Mistral):
// GroupQueryAttention over a KV cache that past and present share (updated in place), fed the
// packed q/k/v projection (Qwen3: q and k normalized per head first) and rotating q and k
// itself from position_ids, simplified layer norms, and logits only for the flattened token
// positions listed in logits_indices. A graph converted for embeddings (--task embed) ends at
// the final norm instead: its output is those rows' hidden states, and it has no lm_head.
import type { ModelManifest } from '../../src/model/manifest.ts';
import type { GraphBuilder } from '../onnx/graph.ts';
import { DataType, attr } from '../onnx/graph.ts';
import type { DecoderConfig } from './config.ts';
import { ropeTables } from './rope.ts';
import type { WeightEmitter } from './weights.ts';

const MS = 'com.microsoft';

export type EngineIo = Pick<ModelManifest, 'inputs' | 'outputs'>;

/** What the graph outputs for the rows of logits_indices: logits, or the final hidden states (embeddings). */
export type GraphOutput = 'logits' | 'hidden_states';

/** Rotates q or k [batch, seq, heads · headDim] by the token positions. */
export type Rotate = (t: string, heads: number, name: string) => string;

/**
 * How q and k get their rotary embedding: inside GroupQueryAttention from one position per
 * token (cos/sin tables [positions, headDim / 2]), or by the variant's own ops.
 */
export type Rotary = { inAttention: { cos: string; sin: string } } | { rotate: Rotate };

/** What differs between the text graphs built here (Qwen2.5-VL supplies its own). */
export interface EngineGraphVariant {
  /** Declares the positions input; returns its name and the rotary it drives. */
  positions(g: GraphBuilder, c: DecoderConfig): { input: string; rotary: Rotary };
  /** Rewrites the token embeddings [batch, seq, hidden] before the first layer. */
  embeddings?(g: GraphBuilder, tokens: string, c: DecoderConfig): string;
}

/** Qwen2: `position_ids` [batch, seq], rotated inside GroupQueryAttention. */
export const QWEN2_VARIANT: EngineGraphVariant = {
  positions(g, c) {
    const input = g.input('position_ids', DataType.INT64, ['batch', 'seq']);
    const rope = ropeTables(c);
    const cos = g.initializer('rope.cos', DataType.FLOAT, [rope.positions, rope.half], rope.cos);
    const sin = g.initializer('rope.sin', DataType.FLOAT, [rope.positions, rope.half], rope.sin);
    return { input, rotary: { inAttention: { cos, sin } } };
  },
};

export function buildEngineGraph(g: GraphBuilder, w: WeightEmitter, c: DecoderConfig, variant: EngineGraphVariant = QWEN2_VARIANT, output: GraphOutput = 'logits'): EngineIo {
  const kvDims = () => ['batch', c.numKeyValueHeads, 'cache_len', c.headDim];
  const inputIds = g.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const { input: positionIds, rotary } = variant.positions(g, c);
  const seqlensK = g.input('seqlens_k', DataType.INT32, ['batch']);
  const totalSequenceLength = g.input('total_sequence_length', DataType.INT32, []);
  const logitsIndices = g.input('logits_indices', DataType.INT64, ['n']);
  const pastKeys: string[] = [];
  const pastValues: string[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    pastKeys.push(g.input(`past_key_values.${i}.key`, DataType.FLOAT, kvDims()));
    pastValues.push(g.input(`past_key_values.${i}.value`, DataType.FLOAT, kvDims()));
  }

  const qSize = c.numAttentionHeads * c.headDim;
  const kvSize = c.numKeyValueHeads * c.headDim;
  const qkvSplit = 'rotate' in rotary || c.qkNorm ? g.int64s('split.qkv', [qSize, kvSize, kvSize]) : '';
  const shapes = new Map<string, string>();
  const shape = (name: string, dims: number[]) => shapes.get(name) ?? (shapes.set(name, g.int64s(name, dims)), shapes.get(name)!);
  const headShape = (heads: number) => shape(`shape.heads.${heads}`, [0, 0, heads, c.headDim]);
  const flatShape = (heads: number) => shape(`shape.flat.${heads}`, [0, 0, heads * c.headDim]);
  /** Qwen3's RMSNorm over each head of q or k [batch, seq, heads · headDim]. */
  const headNorm = (t: string, heads: number, weight: string, name: string): string => {
    const split = g.op('Reshape', [t, headShape(heads)], { name: `${name}/heads` });
    const normed = g.node('SimplifiedLayerNormalization', [split, w.vector(weight, c.headDim)], { name, outputs: 1, attrs: { axis: attr.int(-1), epsilon: eps, stash_type: attr.int(1) } })[0]!;
    return g.op('Reshape', [normed, flatShape(heads)], { name: `${name}/flat` });
  };
  const mlpSplit = g.int64s('split.gate_up', [c.intermediateSize, c.intermediateSize]);
  const eps = attr.float(c.rmsNormEps);

  const tokens = w.embed(inputIds);
  let hidden = variant.embeddings ? variant.embeddings(g, tokens, c) : tokens;
  let residual = hidden;
  let pendingAdd: string | null = null; // a sublayer output not yet added to the residual stream
  const presentKeys: string[] = [];
  const presentValues: string[] = [];

  const norm = (weight: string, name: string): string => {
    const gamma = w.vector(weight, c.hiddenSize);
    if (pendingAdd === null) {
      return g.node('SimplifiedLayerNormalization', [residual, gamma], { name, outputs: 1, attrs: { axis: attr.int(-1), epsilon: eps, stash_type: attr.int(1) } })[0]!;
    }
    const [normed, , , sum] = g.node('SkipSimplifiedLayerNormalization', [pendingAdd, residual, gamma], { name, domain: MS, outputs: [`${name}/out`, '', '', `${name}/residual`], attrs: { epsilon: eps } });
    residual = sum!;
    pendingAdd = null;
    return normed!;
  };

  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    const x = norm(`${p}.input_layernorm.weight`, `${p}.input_layernorm`);
    const qkv = w.linear(
      x,
      ['q', 'k', 'v'].map((t, j) => ({ name: `${p}.self_attn.${t}_proj.weight`, out: j === 0 ? qSize : kvSize })),
      c.hiddenSize,
      c.attentionBias ? ['q', 'k', 'v'].map((t) => `${p}.self_attn.${t}_proj.bias`) : undefined,
    );
    const cache = [pastKeys[i]!, pastValues[i]!, seqlensK, totalSequenceLength];
    let attnInputs: string[];
    if (c.qkNorm && 'inAttention' in rotary) {
      // Unpacked q, k, v: the norms sit between the projection and GroupQueryAttention's rotary.
      const [q, k, v] = g.node('Split', [qkv, qkvSplit], { name: `${p}.qkv_split`, outputs: 3, attrs: { axis: attr.int(-1) } });
      const qn = headNorm(q!, c.numAttentionHeads, `${p}.self_attn.q_norm.weight`, `${p}.self_attn.q_norm`);
      const kn = headNorm(k!, c.numKeyValueHeads, `${p}.self_attn.k_norm.weight`, `${p}.self_attn.k_norm`);
      attnInputs = [qn, kn, v!, ...cache, rotary.inAttention.cos, rotary.inAttention.sin, positionIds];
    } else if ('inAttention' in rotary) {
      // Packed q/k/v in `query`; inputs 7–9 are cos_cache, sin_cache and position_ids.
      attnInputs = [qkv, '', '', ...cache, rotary.inAttention.cos, rotary.inAttention.sin, positionIds];
    } else {
      const [q, k, v] = g.node('Split', [qkv, qkvSplit], { name: `${p}.qkv_split`, outputs: 3, attrs: { axis: attr.int(-1) } });
      attnInputs = [rotary.rotate(q!, c.numAttentionHeads, `${p}.q_rotary`), rotary.rotate(k!, c.numKeyValueHeads, `${p}.k_rotary`), v!, ...cache];
    }
    const [attn, presentKey, presentValue] = g.node('GroupQueryAttention', attnInputs, {
      name: `${p}.attn`,
      domain: MS,
      outputs: [`${p}.attn/out`, `present.${i}.key`, `present.${i}.value`],
      attrs: {
        num_heads: attr.int(c.numAttentionHeads),
        kv_num_heads: attr.int(c.numKeyValueHeads),
        scale: attr.float(1 / Math.sqrt(c.headDim)),
        do_rotary: attr.int('inAttention' in rotary ? 1 : 0),
        rotary_interleaved: attr.int(0),
      },
    });
    presentKeys.push(presentKey!);
    presentValues.push(presentValue!);
    pendingAdd = w.linear(attn!, [{ name: `${p}.self_attn.o_proj.weight`, out: c.hiddenSize }], qSize);

    const y = norm(`${p}.post_attention_layernorm.weight`, `${p}.post_attention_layernorm`);
    const gateUp = w.linear(
      y,
      ['gate', 'up'].map((t) => ({ name: `${p}.mlp.${t}_proj.weight`, out: c.intermediateSize })),
      c.hiddenSize,
    );
    const [gate, up] = g.node('Split', [gateUp, mlpSplit], { name: `${p}.gate_up_split`, outputs: 2, attrs: { axis: attr.int(-1) } });
    const silu = g.op('Mul', [gate!, g.op('Sigmoid', [gate!], { name: `${p}.silu` })], { name: `${p}.silu` });
    const act = g.op('Mul', [silu, up!], { name: `${p}.gated` });
    pendingAdd = w.linear(act, [{ name: `${p}.mlp.down_proj.weight`, out: c.hiddenSize }], c.intermediateSize);
  }

  // Gather the requested token rows first, so the final norm and lm_head see only those.
  hidden = g.op('Add', [pendingAdd!, residual], { name: 'final_residual' });
  const flat = g.op('Reshape', [hidden, g.int64s('shape.tokens', [-1, c.hiddenSize])], { name: 'flatten_tokens' });
  const picked = g.op('Gather', [flat, logitsIndices], { name: 'pick_logits_rows', attrs: { axis: attr.int(0) } });
  const gamma = w.vector('model.norm.weight', c.hiddenSize);
  const normedName = output === 'hidden_states' ? { output: 'hidden_states' } : {};
  const normed = g.op('SimplifiedLayerNormalization', [picked, gamma], { name: 'model.norm', ...normedName, attrs: { axis: attr.int(-1), epsilon: eps, stash_type: attr.int(1) } });
  const rows = output === 'hidden_states' ? { hiddenStates: normed } : { logits: w.lmHead(normed, 'logits') };

  g.output(rows.logits ?? rows.hiddenStates!, DataType.FLOAT, ['n', rows.logits ? c.vocabSize : c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    g.output(presentKeys[i]!, DataType.FLOAT, kvDims());
    g.output(presentValues[i]!, DataType.FLOAT, kvDims());
  }
  return {
    inputs: { inputIds, positionIds, seqlensK, totalSequenceLength, logitsIndices, pastKeys, pastValues },
    outputs: { ...rows, presentKeys, presentValues },
  };
}
