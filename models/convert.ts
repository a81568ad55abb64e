// Hugging Face checkpoint → ONNX model directory, by the checkpoint's family (models/families/).
// Everything is written into a temporary sibling of the output directory and renamed into
// place at the end, so a failure never leaves a half-written model behind.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE } from '../src/model/manifest.ts';
import { readConfigJson } from './decoder/config.ts';
import type { WeightDtype } from './decoder/weights.ts';
import { familyOf, type ConvertTask, type Layout } from './families/index.ts';
import { SafetensorsCheckpoint } from './safetensors/reader.ts';
import { sentenceTransformersPooling } from './sentence-transformers.ts';

export type { ConvertTask, Layout } from './families/index.ts';

export interface ConvertOptions {
  from: string;
  to: string;
  dtype: WeightDtype;
  layout: Layout;
  /** 'embed': the graph outputs the final hidden states for embeddings (default 'generate'). */
  task?: ConvertTask;
  /** Checkpoint bytes converted so far, of the total, after each tensor. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Bump when the converter's output changes: the built-in models and the conversion cache
 * both key their directories with it, so an older conversion is never reused.
 */
export const CONVERTER_REVISION = 4;

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];
/** Image processor settings of vision-language checkpoints, copied when present. */
const PREPROCESSOR_FILE = 'preprocessor_config.json';

function checkInputDir(from: string): void {
  if (!existsSync(from) || !statSync(from).isDirectory()) throw new Error(`--from ${from}: not a directory`);
  for (const f of ['config.json', ...TOKENIZER_FILES]) {
    if (!existsSync(join(from, f))) throw new Error(`--from ${from}: missing ${f}`);
  }
}

function checkOutputDir(to: string): void {
  if (existsSync(to) && (!statSync(to).isDirectory() || readdirSync(to).length > 0)) {
    throw new Error(`--to ${to}: already exists and is not an empty directory`);
  }
}

/** generation_config.json from the checkpoint, or the token ids its config.json carries. */
function generationConfig(from: string, config: Record<string, unknown>): string {
  const path = join(from, 'generation_config.json');
  if (existsSync(path)) return readFileSync(path, 'utf8');
  return JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }, null, 2) + '\n';
}

function writeModel(options: ConvertOptions, tmp: string): void {
  const { from, dtype, layout } = options;
  const task = options.task ?? 'generate';
  checkInputDir(from);
  const raw = readConfigJson(from);
  const family = familyOf(raw);
  const embedding = task === 'embed' ? sentenceTransformersPooling(from) : undefined;
  // Embedding checkpoints (Qwen3-Embedding) are often saved from the base model, without the
  // `model.` prefix (and without lm_head, which an embedding graph does not use).
  const aliases = [...(family.tensorAliases ?? []), ...(task === 'embed' ? ([['model.', '']] as const) : [])];
  const ckpt = SafetensorsCheckpoint.open(from, aliases);
  if (options.onProgress) {
    const total = ckpt.totalBytes;
    let done = 0;
    ckpt.onFirstRead = (bytes) => options.onProgress!((done += bytes), total);
  }
  try {
    const written = family.convert({ dir: tmp, ckpt, raw, dtype, layout, task, ...(embedding ? { embedding } : {}) });
    if (written) writeFileSync(join(tmp, MANIFEST_FILE), JSON.stringify(written, null, 2) + '\n');
  } finally {
    ckpt.close();
  }
  const hfConfig = layout === 'optimum' ? { ...raw, 'transformers.js_config': { use_external_data_format: true } } : raw;
  writeFileSync(join(tmp, 'config.json'), JSON.stringify(hfConfig, null, 2) + '\n');
  writeFileSync(join(tmp, 'generation_config.json'), generationConfig(from, raw));
  for (const f of TOKENIZER_FILES) copyFileSync(join(from, f), join(tmp, f));
  if (existsSync(join(from, PREPROCESSOR_FILE))) copyFileSync(join(from, PREPROCESSOR_FILE), join(tmp, PREPROCESSOR_FILE));
}

export function convertCheckpoint(options: ConvertOptions): void {
  const to = resolve(options.to);
  checkOutputDir(to);
  mkdirSync(dirname(to), { recursive: true });
  const tmp = join(dirname(to), `.${basename(to)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeModel({ ...options, from: resolve(options.from) }, tmp);
    if (existsSync(to)) rmSync(to, { recursive: true }); // an empty directory, checked above
    renameSync(tmp, to);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
