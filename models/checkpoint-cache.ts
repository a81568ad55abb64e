// Serving a Hugging Face checkpoint directory as downloaded: it is converted once into the
// cache directory, under a key made of the checkpoint's content and the conversion options,
// and every later start with the same checkpoint and options reuses that conversion.
//
// The key hashes the small files whole (config, tokenizer, generation config, shard index)
// and, for each safetensors file, its name, size, modification time and header (every
// tensor's name, dtype, shape and offsets). Hashing every weight byte of a 7B checkpoint
// would add tens of seconds to each start; a weight file rewritten in place changes its
// modification time, which is in the key.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MANIFEST_FILE } from '../src/model/manifest.ts';
import { cacheDir } from './cache-dir.ts';
import { CONVERTER_REVISION, convertCheckpoint, type ConvertTask } from './convert.ts';
import type { WeightDtype } from './decoder/weights.ts';

const KEYED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
  'model.safetensors.index.json',
  // sentence-transformers' module list and the usual place of its pooling config (embeddings).
  'modules.json',
  '1_Pooling/config.json',
];

/** A directory the engine loads as it is (converted: it has xllm.json). */
export function isConvertedModel(dir: string): boolean {
  return existsSync(join(dir, MANIFEST_FILE));
}

/** A directory the converter reads: config.json and safetensors weights, no xllm.json. */
export function isHuggingFaceCheckpoint(dir: string): boolean {
  if (isConvertedModel(dir) || !existsSync(join(dir, 'config.json'))) return false;
  return existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json'));
}

/** The safetensors header: its 8-byte length and the JSON it announces. */
function safetensorsHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const length = Math.min(Number(prefix.readBigUInt64LE(0)), 100 * 2 ** 20);
    const header = Buffer.alloc(length);
    readSync(fd, header, 0, length, 8);
    return Buffer.concat([prefix, header]);
  } finally {
    closeSync(fd);
  }
}

export function conversionKey(dir: string, dtype: WeightDtype, task: ConvertTask = 'generate'): string {
  const hash = createHash('sha256');
  hash.update(`xllm-ts converter ${CONVERTER_REVISION}; engine layout; ${dtype}${task === 'generate' ? '' : `; ${task}`}\n`);
  for (const name of KEYED_FILES) {
    const path = join(dir, name);
    if (existsSync(path)) hash.update(`${name}\n`).update(readFileSync(path));
  }
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort()) {
    const path = join(dir, name);
    const { size, mtimeMs } = statSync(path);
    hash.update(`${name} ${size} ${mtimeMs}\n`).update(safetensorsHeader(path));
  }
  return hash.digest('hex').slice(0, 24);
}

export interface CachedConversion {
  /** The converted model directory. */
  dir: string;
  /** True when an earlier conversion was reused. */
  reused: boolean;
}

/** The conversion of checkpoint `from` with `dtype` (for `task`), made now unless the cache has it. */
export function convertedCheckpoint(from: string, dtype: WeightDtype, onProgress?: (done: number, total: number) => void, task: ConvertTask = 'generate'): CachedConversion {
  const source = resolve(from);
  const dir = join(cacheDir(), 'converted', `${conversionKey(source, dtype, task)}-${dtype}${task === 'embed' ? '-embed' : ''}`);
  if (isConvertedModel(dir)) return { dir, reused: true };
  // convertCheckpoint writes a temporary sibling and renames it into place: never half a model.
  convertCheckpoint({ from: source, to: dir, dtype, layout: 'engine', task, onProgress });
  return { dir, reused: false };
}
