// The model's own sampling defaults from `generation_config.json`, applied to the fields a
// request leaves out — what vLLM does by default (`--generation-config auto`): temperature,
// top_p, top_k, min_p and repetition_penalty when the file sets them. `do_sample` is not
// consulted, as in vLLM. A missing file means no defaults; a malformed one is an error.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { samplingParams, SamplingParamError, type SamplingParams } from '../sampling/params.ts';

export const GENERATION_CONFIG_FILE = 'generation_config.json';

const FIELDS = [
  ['temperature', 'temperature'],
  ['top_p', 'topP'],
  ['top_k', 'topK'],
  ['min_p', 'minP'],
  ['repetition_penalty', 'repetitionPenalty'],
] as const;

export type SamplingDefaults = Partial<Pick<SamplingParams, (typeof FIELDS)[number][1]>>;

export function readSamplingDefaults(modelDir: string): SamplingDefaults {
  const path = join(modelDir, GENERATION_CONFIG_FILE);
  if (!existsSync(path)) return {};
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`${path}: expected a JSON object`);
  const defaults: SamplingDefaults = {};
  for (const [key, field] of FIELDS) {
    const value = (config as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${path}: ${key} must be a number, got ${JSON.stringify(value)}`);
    defaults[field] = value;
  }
  try {
    samplingParams(defaults);
  } catch (err) {
    if (err instanceof SamplingParamError) throw new Error(`${path}: ${err.message}`);
    throw err;
  }
  return defaults;
}
