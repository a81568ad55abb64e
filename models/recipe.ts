// The built-in models: random-weight Qwen2 and Qwen2.5-VL checkpoints, generated
// deterministically and converted. `npm run models [-- tiny|bench-0.5b|tiny-vl]`; tests and benches call ensureModel().
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './cache-dir.ts';
import { CONVERTER_REVISION, convertCheckpoint, type Layout } from './convert.ts';
import { writeRandomCheckpoint, type Qwen2Shape } from './random-checkpoint.ts';
import { writeRandomVlCheckpoint, type Qwen25VlShape } from './random-vl-checkpoint.ts';
import type { WeightDtype } from './qwen2/weights.ts';

/** The built-in models (and their checkpoints) under the cache directory. */
export const MODELS_OUT = join(cacheDir(), 'models');

const SEED = 20240601;

/** Converted built-in models carry CONVERTER_REVISION here; ensureModel() reconverts older ones. */
const REVISION_FILE = 'recipe-revision';

const QWEN_VOCAB = 151936;

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
} satisfies Qwen2Shape;

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
} satisfies Record<string, Qwen2Shape | Qwen25VlShape>;

export type BuiltinModel = keyof typeof BUILTIN_SHAPES;
export type ModelVariant = 'fp32' | 'fp16' | 'int4' | 'optimum';

/** The default served model: tiny, engine layout, fp32 (its directory name is the model id). */
export const DEFAULT_MODEL_DIR = join(MODELS_OUT, 'qwen2-tiny');

export function checkpointDir(name: BuiltinModel): string {
  return join(MODELS_OUT, 'hf', `qwen2-${name}`);
}

export function modelDir(name: BuiltinModel, variant: ModelVariant): string {
  return name === 'tiny' && variant === 'fp32' ? DEFAULT_MODEL_DIR : join(MODELS_OUT, `qwen2-${name}-${variant}`);
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
  const shape: Qwen2Shape | Qwen25VlShape = BUILTIN_SHAPES[name];
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
  const layout: Layout = variant === 'optimum' ? 'optimum' : 'engine';
  const dtype: WeightDtype = variant === 'optimum' ? 'fp32' : variant;
  publish(dir, (tmp) => {
    convertCheckpoint({ from, to: tmp, dtype, layout });
    writeFileSync(join(tmp, REVISION_FILE), `${CONVERTER_REVISION}\n`);
  });
  return dir;
}

const VARIANTS: Record<BuiltinModel, ModelVariant[]> = {
  tiny: ['fp32', 'fp16', 'int4', 'optimum'],
  'bench-0.5b': ['fp32', 'int4', 'optimum'],
  'tiny-vl': ['fp32'],
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
