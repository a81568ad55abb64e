// The decoder-only transformer every text family is (Qwen2, Qwen3, Llama 3, Mistral): the
// fields of its Hugging Face config.json that the converter needs, validated, and the few
// ways the families differ (attention biases, per-head q/k norms, how rope is scaled).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'yarn'; factor: number; originalMaxPositionEmbeddings: number; betaFast: number; betaSlow: number }
  /** Llama 3.1+: low frequencies slowed by `factor`, high ones kept, a smooth blend between. */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

export interface DecoderConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2; Llama when attention_bias is set). */
  attentionBias: boolean;
  /** RMSNorm over each head of q and k before the rotary (Qwen3's q_norm, k_norm). */
  qkNorm: boolean;
}

/** How a family reads the fields the families disagree on. */
export interface DecoderTraits {
  /** The model_type values the family takes. */
  modelTypes: readonly string[];
  /** Attention biases: always (Qwen2), or as `attention_bias` says (default false). */
  attentionBias: 'always' | 'config';
  qkNorm: boolean;
  /** Rope scaling types the family may carry. */
  ropeScalings: ReadonlyArray<RopeScaling['type']>;
}

/** `raw[key]` (else `fallback`) as a positive integer; `where` prefixes the key in the error (a nested object's path). */
export function positiveInt(raw: Record<string, unknown>, key: string, fallback?: number, where = ''): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`config.json: ${where}${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0)) throw new Error(`config.json: ${key} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function parseRopeScaling(raw: unknown, allowed: DecoderTraits['ropeScalings']): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object') throw new Error('config.json: rope_scaling must be an object or null');
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (!allowed.includes(type as RopeScaling['type'])) {
    // dynamic NTK rescales with the running length: not expressible as fixed tables.
    throw new Error(`config.json: rope_scaling type ${JSON.stringify(type)} is not supported here (supported: ${allowed.join(', ')})`);
  }
  if (type === 'linear') return { type, factor: positiveNumber(r, 'factor') };
  if (type === 'yarn') {
    return {
      type,
      factor: positiveNumber(r, 'factor'),
      originalMaxPositionEmbeddings: positiveInt(r, 'original_max_position_embeddings'),
      betaFast: positiveNumber(r, 'beta_fast', 32),
      betaSlow: positiveNumber(r, 'beta_slow', 1),
    };
  }
  return {
    type: 'llama3',
    factor: positiveNumber(r, 'factor'),
    lowFreqFactor: positiveNumber(r, 'low_freq_factor'),
    highFreqFactor: positiveNumber(r, 'high_freq_factor'),
    originalMaxPositionEmbeddings: positiveInt(r, 'original_max_position_embeddings'),
  };
}

export function parseDecoderConfig(raw: Record<string, unknown>, traits: DecoderTraits): DecoderConfig {
  if (!traits.modelTypes.includes(raw.model_type as string)) {
    throw new Error(`config.json: unsupported model_type ${JSON.stringify(raw.model_type)} (supported: ${traits.modelTypes.join(', ')})`);
  }
  const hiddenSize = positiveInt(raw, 'hidden_size');
  const numAttentionHeads = positiveInt(raw, 'num_attention_heads');
  const numKeyValueHeads = positiveInt(raw, 'num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) throw new Error('config.json: num_attention_heads must be a multiple of num_key_value_heads');
  // Qwen3 and Mistral Nemo give head_dim outright (q may be wider than the hidden size).
  const headDim = raw.head_dim == null ? hiddenSize / numAttentionHeads : positiveInt(raw, 'head_dim');
  if (!Number.isInteger(headDim)) throw new Error('config.json: hidden_size must be a multiple of num_attention_heads (or head_dim given)');
  if (headDim % 2 !== 0) throw new Error('config.json: head dimension must be even for rotary embeddings');
  if (raw.mlp_bias === true) throw new Error('config.json: mlp_bias is not supported');
  return {
    hiddenSize,
    intermediateSize: positiveInt(raw, 'intermediate_size'),
    numLayers: positiveInt(raw, 'num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    vocabSize: positiveInt(raw, 'vocab_size'),
    rmsNormEps: positiveNumber(raw, 'rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber(raw, 'rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling, traits.ropeScalings),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', 32768),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    attentionBias: traits.attentionBias === 'always' || raw.attention_bias === true,
    qkNorm: traits.qkNorm,
  };
}

/**
 * Refuses a sliding attention window the engine does not implement: attending beyond the
 * window would change every output once a sequence outgrows it.
 */
export function refuseSlidingWindow(raw: Record<string, unknown>): void {
  const window = raw.sliding_window;
  const used = raw.use_sliding_window !== false && window != null;
  if (raw.use_sliding_window === true || (used && typeof window === 'number' && window < positiveInt(raw, 'max_position_embeddings', 32768))) {
    throw new Error(`config.json: a sliding attention window (sliding_window ${JSON.stringify(window)}) is not supported; only full attention is`);
  }
}

/** `DIR/config.json` as a JSON object, with a clear error when it is missing or malformed. */
export function readConfigJson(dir: string): Record<string, unknown> {
  const path = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code ? `cannot read ${path}: ${code}` : `${path} is not valid JSON`);
  }
  if (!raw || typeof raw !== 'object') throw new Error(`${path}: expected a JSON object`);
  return raw as Record<string, unknown>;
}
