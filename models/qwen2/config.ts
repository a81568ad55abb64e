// The fields of a Hugging Face Qwen2 config.json that the converter needs, validated.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'yarn'; factor: number; originalMaxPositionEmbeddings: number; betaFast: number; betaSlow: number };

export interface Qwen2Config {
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

function parseRopeScaling(raw: unknown): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object') throw new Error('config.json: rope_scaling must be an object or null');
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
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
  // dynamic NTK rescales with the running length: not expressible as fixed tables.
  throw new Error(`config.json: rope_scaling type ${JSON.stringify(type)} is not supported (supported: linear, yarn)`);
}

export function parseQwen2Config(raw: Record<string, unknown>): Qwen2Config {
  if (raw.model_type !== 'qwen2') throw new Error(`config.json: unsupported model_type ${JSON.stringify(raw.model_type)} (supported: qwen2)`);
  if (raw.use_sliding_window === true) throw new Error('config.json: use_sliding_window is not supported');
  const hiddenSize = positiveInt(raw, 'hidden_size');
  const numAttentionHeads = positiveInt(raw, 'num_attention_heads');
  const numKeyValueHeads = positiveInt(raw, 'num_key_value_heads', numAttentionHeads);
  if (hiddenSize % numAttentionHeads !== 0) throw new Error('config.json: hidden_size must be a multiple of num_attention_heads');
  if (numAttentionHeads % numKeyValueHeads !== 0) throw new Error('config.json: num_attention_heads must be a multiple of num_key_value_heads');
  const headDim = hiddenSize / numAttentionHeads;
  if (headDim % 2 !== 0) throw new Error('config.json: head dimension must be even for rotary embeddings');
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
    ropeScaling: parseRopeScaling(raw.rope_scaling),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', 32768),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
  };
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

