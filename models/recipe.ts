// The built-in models: random-weight checkpoints of every family (Qwen2, Qwen2.5-VL, Qwen3,
// Llama 3, Mistral), a tiny one each for tests and real shapes for benchmarks, generated
// deterministically and converted. `npm run models [-- tiny|bench-0.5b|…]`; tests and
// benches call ensureModel().
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './cache-dir.ts';
import { CONVERTER_REVISION, convertCheckpoint, type ConvertTask, type Layout } from './convert.ts';
import { writeRandomCheckpoint, type DecoderShape } from './random-checkpoint.ts';
import { writeRandomVlCheckpoint, type Qwen25VlShape } from './random-vl-checkpoint.ts';
import type { WeightDtype } from './decoder/weights.ts';

/** The built-in models (and their checkpoints) under the cache directory. */
export const MODELS_OUT = join(cacheDir(), 'models');

const SEED = 20240601;

/** Converted built-in models carry CONVERTER_REVISION here; ensureModel() reconverts older ones. */
const REVISION_FILE = 'recipe-revision';

const QWEN_VOCAB = 151936;
const LLAMA3_VOCAB = 128256;
/** Llama 3.1 / 3.2's rope scaling. */
const LLAMA3_ROPE = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
/** The other families' tiny test models: q wider than the hidden size where head_dim is given. */
const TINY_DECODER = { hiddenSize: 64, intermediateSize: 256, numLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 4096, rmsNormEps: 1e-6 };

/** The tiny text model: the default model, and the text half of tiny-vl. */
const TINY_TEXT = {
  hiddenSize: 64,
  intermediateSize: 256,
  numLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  vocabSize: QWEN_VOCAB,
  ropeTheta: 10000,
  maxPositionEmbeddings: 4096,
  tieWordEmbeddings: false,
  rmsNormEps: 1e-6,
} satisfies DecoderShape;

export const BUILTIN_SHAPES = {
  tiny: TINY_TEXT,
  'bench-0.5b': {
    hiddenSize: 896,
    intermediateSize: 4864,
    numLayers: 24,
    numAttentionHeads: 14,
    numKeyValueHeads: 2,
    vocabSize: QWEN_VOCAB,
    ropeTheta: 1e6,
    maxPositionEmbeddings: 32768,
    tieWordEmbeddings: true,
    rmsNormEps: 1e-6,
  },
  // Qwen2.5-VL: the tiny text model with M-RoPE, and a vision tower with window attention
  // in blocks 0 and 2 around one full-attention block.
  'tiny-vl': {
    ...TINY_TEXT,
    mropeSection: [2, 3, 3],
    vision: { depth: 3, hiddenSize: 32, intermediateSize: 64, numHeads: 2, fullAttentionBlocks: [1], windowSize: 112 },
    minPixels: 56 * 56,
    maxPixels: 28 * 28 * 256,
  },
  'qwen3-tiny': { ...TINY_DECODER, family: 'qwen3', headDim: 32, vocabSize: QWEN_VOCAB, ropeTheta: 1e6, tieWordEmbeddings: false },
  'llama-tiny': { ...TINY_DECODER, family: 'llama', vocabSize: LLAMA3_VOCAB, ropeTheta: 500000, ropeScaling: LLAMA3_ROPE, maxPositionEmbeddings: 131072, tieWordEmbeddings: false, rmsNormEps: 1e-5 },
  'mistral-tiny': { ...TINY_DECODER, family: 'mistral', headDim: 32, vocabSize: LLAMA3_VOCAB, ropeTheta: 1e6, tieWordEmbeddings: false, rmsNormEps: 1e-5 },
  // Real shapes for benchmarks: Qwen3-0.6B and Llama-3.2-1B.
  'qwen3-0.6b': {
    family: 'qwen3',
    hiddenSize: 1024,
    intermediateSize: 3072,
    numLayers: 28,
    numAttentionHeads: 16,
    numKeyValueHeads: 8,
    headDim: 128,
    vocabSize: QWEN_VOCAB,
    ropeTheta: 1e6,
    maxPositionEmbeddings: 40960,
    tieWordEmbeddings: true,
    rmsNormEps: 1e-6,
  },
  'llama-3.2-1b': {
    family: 'llama',
    hiddenSize: 2048,
    intermediateSize: 8192,
    numLayers: 16,
    numAttentionHeads: 32,
    numKeyValueHeads: 8,
    headDim: 64,
    vocabSize: LLAMA3_VOCAB,
    ropeTheta: 500000,
    ropeScaling: LLAMA3_ROPE,
    maxPositionEmbeddings: 131072,
    tieWordEmbeddings: true,
    rmsNormEps: 1e-5,
  },
} satisfies Record<string, DecoderShape | Qwen25VlShape>;

export type BuiltinModel = keyof typeof BUILTIN_SHAPES;
/** Weights of the engine graph; `optimum`: the transformers.js export (fp32); `embed`: graphs converted for embeddings (fp32 unless named). */
export type ModelVariant = 'fp32' | 'fp16' | 'int4' | 'optimum' | 'embed' | 'embed-int4' | 'optimum-embed';

/** The default served model: tiny, engine layout, fp32 (its directory name is the model id). */
export const DEFAULT_MODEL_DIR = join(MODELS_OUT, 'qwen2-tiny');

/** The first built-ins (Qwen2) get the family in their directory name; the others' names start with theirs. */
function stem(name: BuiltinModel): string {
  const shape: DecoderShape = BUILTIN_SHAPES[name];
  return shape.family === undefined ? `qwen2-${name}` : name;
}

export function checkpointDir(name: BuiltinModel): string {
  return join(MODELS_OUT, 'hf', stem(name));
}

export function modelDir(name: BuiltinModel, variant: ModelVariant): string {
  return name === 'tiny' && variant === 'fp32' ? DEFAULT_MODEL_DIR : join(MODELS_OUT, `${stem(name)}-${variant}`);
}

/** Runs `write(tmp)` and renames tmp to `dir`; a concurrent writer that won the race is fine. */
function publish(dir: string, write: (tmp: string) => void): void {
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    write(tmp);
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
}

export function ensureCheckpoint(name: BuiltinModel): string {
  const dir = checkpointDir(name);
  const shape: DecoderShape | Qwen25VlShape = BUILTIN_SHAPES[name];
  if (!existsSync(dir)) publish(dir, (tmp) => ('vision' in shape ? writeRandomVlCheckpoint(tmp, shape, SEED) : writeRandomCheckpoint(tmp, shape, SEED)));
  return dir;
}

function isCurrentConversion(dir: string): boolean {
  const stamp = join(dir, REVISION_FILE);
  return existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) === CONVERTER_REVISION;
}

/** The converted model directory, generating the checkpoint and converting it when missing. */
export function ensureModel(name: BuiltinModel = 'tiny', variant: ModelVariant = 'fp32'): string {
  const dir = modelDir(name, variant);
  if (isCurrentConversion(dir)) return dir;
  rmSync(dir, { recursive: true, force: true });
  const from = ensureCheckpoint(name);
  const layout: Layout = variant.startsWith('optimum') ? 'optimum' : 'engine';
  const task: ConvertTask = variant.includes('embed') ? 'embed' : 'generate';
  const dtype: WeightDtype = variant.includes('int4') ? 'int4' : variant === 'fp16' ? 'fp16' : 'fp32';
  publish(dir, (tmp) => {
    convertCheckpoint({ from, to: tmp, dtype, layout, task });
    writeFileSync(join(tmp, REVISION_FILE), `${CONVERTER_REVISION}\n`);
  });
  return dir;
}

const VARIANTS: Record<BuiltinModel, ModelVariant[]> = {
  tiny: ['fp32', 'fp16', 'int4', 'optimum', 'embed', 'optimum-embed'],
  'bench-0.5b': ['fp32', 'int4', 'optimum', 'embed', 'embed-int4', 'optimum-embed'],
  'tiny-vl': ['fp32'],
  'qwen3-tiny': ['fp32', 'int4'],
  'llama-tiny': ['fp32', 'int4'],
  'mistral-tiny': ['fp32', 'int4'],
  'qwen3-0.6b': ['int4'],
  'llama-3.2-1b': ['int4'],
};

async function main(argv: string[]): Promise<number> {
  const names = argv.length ? argv : ['tiny'];
  for (const name of names) {
    if (!(name in BUILTIN_SHAPES)) {
      console.error(`unknown model ${JSON.stringify(name)}; known: ${Object.keys(BUILTIN_SHAPES).join(', ')}`);
      return 2;
    }
    for (const variant of VARIANTS[name as BuiltinModel]) {
      const started = Date.now();
      const dir = ensureModel(name as BuiltinModel, variant);
      console.log(`${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // No top-level await: tests load this module through a CommonJS transform.
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
