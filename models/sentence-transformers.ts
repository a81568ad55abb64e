// The pooling a sentence-transformers checkpoint declares (modules.json, and the config of its
// Pooling module, e.g. 1_Pooling/config.json), which an embedding graph's manifest records as
// the default. Without those files: the last token, normalized, as vLLM embeds with a causal
// model (Qwen3-Embedding declares exactly that).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddingDefaults } from './families/index.ts';

const POOLING_MODULE = 'sentence_transformers.models.Pooling';
const NORMALIZE_MODULE = 'sentence_transformers.models.Normalize';

/** The pooling modes sentence-transformers names, and ours; the others are refused by name. */
const MODES: Record<string, EmbeddingDefaults['pooling'] | null> = {
  pooling_mode_lasttoken: 'last',
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_cls_token: null,
  pooling_mode_max_tokens: null,
  pooling_mode_mean_sqrt_len_tokens: null,
  pooling_mode_weightedmean_tokens: null,
};

export const DEFAULT_EMBEDDING: EmbeddingDefaults = { pooling: 'last', normalize: true };

export function sentenceTransformersPooling(checkpoint: string): EmbeddingDefaults {
  const modulesPath = join(checkpoint, 'modules.json');
  if (!existsSync(modulesPath)) return DEFAULT_EMBEDDING;
  const modules = readJson(modulesPath) as Array<{ type?: string; path?: string }>;
  if (!Array.isArray(modules)) throw new Error('modules.json: expected a list of modules');
  const pooling = modules.find((m) => m.type === POOLING_MODULE);
  const normalize = modules.some((m) => m.type === NORMALIZE_MODULE);
  if (!pooling) return { pooling: DEFAULT_EMBEDDING.pooling, normalize };
  const configPath = join(checkpoint, pooling.path ?? '', 'config.json');
  const config = readJson(configPath) as Record<string, unknown>;
  const chosen = Object.keys(MODES).filter((mode) => config[mode] === true);
  if (chosen.length !== 1) throw new Error(`${configPath}: expected exactly one pooling mode set, found ${chosen.length ? chosen.join(', ') : 'none'}`);
  const mode = MODES[chosen[0]!];
  if (!mode) throw new Error(`${configPath}: ${chosen[0]} is not supported (last-token and mean pooling are)`);
  return { pooling: mode, normalize };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}
