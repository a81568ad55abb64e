// The Hugging Face Optimum / transformers.js layout of Qwen2 ("text-generation-with-past"):
// input_ids, attention_mask, position_ids, past_key_values.{i}.key/value →
// logits [batch, seq, vocab], present.{i}.key/value, in standard ONNX ops so any
// onnxruntime build that transformers.js uses can run it. Converted for embeddings
// ("feature-extraction"), it outputs last_hidden_state [batch, seq, hidden] instead of logits.
import type { GraphBuilder } from '../../onnx/graph.ts';
import { DataType, attr } from '../../onnx/graph.ts';
import type { DecoderConfig } from '../../decoder/config.ts';
import type { GraphOutput } from '../../decoder/engine-graph.ts';
import { ropeTables, rotateHalf } from '../../decoder/rope.ts';
import type { WeightEmitter } from '../../decoder/weights.ts';

/** Masked attention scores: the lowest float32, so a fully masked (padding) row stays finite. */
const MASKED_SCORE = -3.4028234663852886e38;

export function buildOptimumGraph(g: GraphBuilder, w: WeightEmitter, c: DecoderConfig, output: GraphOutput = 'logits'): void {
  const h = c.numAttentionHeads;
  const kv = c.numKeyValueHeads;
  const groups = h / kv;
  const hd = c.headDim;
  const half = hd / 2;
  const inputIds = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const kvDims = ['batch_size', kv, 'past_sequence_length', hd];
  const presentDims = ['batch_size', kv, 'total_sequence_length', hd];
  const past = Array.from({ length: c.numLayers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, DataType.FLOAT, kvDims),
    value: g.input(`past_key_values.${i}.value`, DataType.FLOAT, kvDims),
  }));

  const ints = (name: string, values: number[]) => g.int64s(name, values);
  const eps = g.float32s('rms_norm_eps', [c.rmsNormEps], []);

  // Attention mask [batch, 1, 1, seq, total]: causal over cache positions, and padding.
  const shapeOf = (x: string, start: number, name: string) => g.op('Shape', [x], { name, attrs: { start: attr.int(start), end: attr.int(start + 1) } });
  const scalar = (x: string, name: string) => g.op('Squeeze', [x, ints(`${name}.axes`, [0])], { name });
  const total = scalar(shapeOf(attentionMask, 1, 'mask.total_len'), 'mask.total');
  const pastLen = scalar(shapeOf(past[0]!.key, 2, 'mask.past_len'), 'mask.past');
  const one = g.int64s('one', [1], []);
  const zero = g.int64s('zero', [0], []);
  const kvIndex = g.op('Unsqueeze', [g.op('Range', [zero, total, one], { name: 'mask.kv_index' }), ints('axes.0', [0])], { name: 'mask.kv_row' });
  const qIndex = g.op('Unsqueeze', [g.op('Range', [pastLen, total, one], { name: 'mask.q_index' }), ints('axes.1', [1])], { name: 'mask.q_col' });
  const causal = g.op('LessOrEqual', [kvIndex, qIndex], { name: 'mask.causal' });
  const padding = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { name: 'mask.bool', attrs: { to: attr.int(9) } }), ints('axes.123', [1, 2, 3])], { name: 'mask.padding' });
  const allowed = g.op('And', [causal, padding], { name: 'mask.allowed' });
  const maskedScore = g.float32s('masked_score', [MASKED_SCORE], []);

  // Rotary tables gathered at the positions: [batch, 1, seq, head_dim].
  const rope = ropeTables(c);
  const ropeAt = (table: Float32Array, name: string) => {
    const t = g.initializer(`rope.${name}`, DataType.FLOAT, [rope.positions, half], table);
    const rows = g.op('Gather', [t, positionIds], { name: `rope.${name}.gather` });
    const full = g.op('Concat', [rows, rows], { name: `rope.${name}.full`, attrs: { axis: attr.int(-1) } });
    return g.op('Unsqueeze', [full, ints(`rope.${name}.axes`, [1])], { name: `rope.${name}.unsqueeze` });
  };
  const cos = ropeAt(rope.cos, 'cos');
  const sin = ropeAt(rope.sin, 'sin');
  const rotary = (x: string, name: string) => rotateHalf(g, x, cos, sin, name);

  const rmsNorm = (x: string, weight: string, name: string) => {
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x], { name: `${name}.square` })], { name: `${name}.mean`, attrs: { axes: attr.ints([-1]), keepdims: attr.int(1) } });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, eps], { name: `${name}.eps` })], { name: `${name}.sqrt` })], { name: `${name}.inv` });
    return g.op('Mul', [g.op('Mul', [x, inv], { name: `${name}.scaled` }), w.vector(weight, c.hiddenSize)], { name });
  };

  // [batch, seq, heads·hd] → [batch, heads, seq, hd]
  const toHeads = (x: string, heads: number, name: string) =>
    g.op('Transpose', [g.op('Reshape', [x, ints(`${name}.shape`, [0, 0, heads, hd])], { name: `${name}.split_heads` })], { name, attrs: { perm: attr.ints([0, 2, 1, 3]) } });
  const qkvSplit = ints('split.qkv', [h * hd, kv * hd, kv * hd]);
  const mlpSplit = ints('split.gate_up', [c.intermediateSize, c.intermediateSize]);
  const groupedQueryShape = ints('shape.grouped_q', [0, kv, groups, -1, hd]);
  const headsShape = ints('shape.heads', [0, h, -1, hd]);
  const hiddenShape = ints('shape.hidden', [0, 0, h * hd]);
  const axis2 = ints('axes.2', [2]);
  const scale = g.float32s('attn_scale', [1 / Math.sqrt(hd)], []);

  let x = w.embed(inputIds);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    const normed = rmsNorm(x, `${p}.input_layernorm.weight`, `${p}.input_layernorm`);
    const qkv = w.linear(
      normed,
      ['q', 'k', 'v'].map((t, j) => ({ name: `${p}.self_attn.${t}_proj.weight`, out: j === 0 ? h * hd : kv * hd })),
      c.hiddenSize,
      ['q', 'k', 'v'].map((t) => `${p}.self_attn.${t}_proj.bias`),
    );
    const [q, k, v] = g.node('Split', [qkv, qkvSplit], { name: `${p}.qkv_split`, outputs: 3, attrs: { axis: attr.int(-1) } });
    const qRot = rotary(toHeads(q!, h, `${p}.q_heads`), `${p}.q_rotary`);
    const kRot = rotary(toHeads(k!, kv, `${p}.k_heads`), `${p}.k_rotary`);
    const presentKey = g.op('Concat', [past[i]!.key, kRot], { name: `${p}.present_key`, output: `present.${i}.key`, attrs: { axis: attr.int(2) } });
    const presentValue = g.op('Concat', [past[i]!.value, toHeads(v!, kv, `${p}.v_heads`)], { name: `${p}.present_value`, output: `present.${i}.value`, attrs: { axis: attr.int(2) } });

    // Grouped query attention by broadcasting: q [b, kv, groups, seq, hd] against k/v [b, kv, 1, total, hd].
    const qGrouped = g.op('Reshape', [g.op('Mul', [qRot, scale], { name: `${p}.q_scaled` }), groupedQueryShape], { name: `${p}.q_grouped` });
    const kT = g.op('Unsqueeze', [g.op('Transpose', [presentKey], { name: `${p}.k_t`, attrs: { perm: attr.ints([0, 1, 3, 2]) } }), axis2], { name: `${p}.k_grouped` });
    const scores = g.op('MatMul', [qGrouped, kT], { name: `${p}.scores` });
    const probs = g.op('Softmax', [g.op('Where', [allowed, scores, maskedScore], { name: `${p}.masked` })], { name: `${p}.probs`, attrs: { axis: attr.int(-1) } });
    const ctx = g.op('MatMul', [probs, g.op('Unsqueeze', [presentValue, axis2], { name: `${p}.v_grouped` })], { name: `${p}.context` });
    const merged = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [ctx, headsShape], { name: `${p}.context_heads` })], { name: `${p}.context_t`, attrs: { perm: attr.ints([0, 2, 1, 3]) } }), hiddenShape], { name: `${p}.context_merged` });
    x = g.op('Add', [x, w.linear(merged, [{ name: `${p}.self_attn.o_proj.weight`, out: c.hiddenSize }], h * hd)], { name: `${p}.attn_residual` });

    const y = rmsNorm(x, `${p}.post_attention_layernorm.weight`, `${p}.post_attention_layernorm`);
    const gateUp = w.linear(y, ['gate', 'up'].map((t) => ({ name: `${p}.mlp.${t}_proj.weight`, out: c.intermediateSize })), c.hiddenSize);
    const [gate, up] = g.node('Split', [gateUp, mlpSplit], { name: `${p}.gate_up_split`, outputs: 2, attrs: { axis: attr.int(-1) } });
    const act = g.op('Mul', [g.op('Mul', [gate!, g.op('Sigmoid', [gate!], { name: `${p}.sigmoid` })], { name: `${p}.silu` }), up!], { name: `${p}.gated` });
    x = g.op('Add', [x, w.linear(act, [{ name: `${p}.mlp.down_proj.weight`, out: c.hiddenSize }], c.intermediateSize)], { name: `${p}.mlp_residual` });
  }

  const normed = rmsNorm(x, 'model.norm.weight', 'model.norm');
  if (output === 'hidden_states') {
    g.output(g.op('Identity', [normed], { name: 'last_hidden_state', output: 'last_hidden_state' }), DataType.FLOAT, ['batch_size', 'sequence_length', c.hiddenSize]);
  } else {
    const flat = g.op('Reshape', [normed, ints('shape.tokens', [-1, c.hiddenSize])], { name: 'flatten_tokens' });
    const logitsShape = g.op('Concat', [g.op('Shape', [inputIds], { name: 'logits.batch_seq' }), ints('logits.vocab', [c.vocabSize])], { name: 'logits.shape', attrs: { axis: attr.int(0) } });
    const logits = g.op('Reshape', [w.lmHead(flat, 'logits_flat'), logitsShape], { name: 'logits', output: 'logits' });
    g.output(logits, DataType.FLOAT, ['batch_size', 'sequence_length', c.vocabSize]);
  }
  for (let i = 0; i < c.numLayers; i++) {
    g.output(`present.${i}.key`, DataType.FLOAT, presentDims);
    g.output(`present.${i}.value`, DataType.FLOAT, presentDims);
  }
}
