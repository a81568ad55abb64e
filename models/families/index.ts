// The model families the converter knows, one folder each. A new family is a folder with a
// Family (family.ts) and one line here.
import type { Family } from './family.ts';
import { llama } from './llama/family.ts';
import { mistral } from './mistral/family.ts';
import { qwen2 } from './qwen2/family.ts';
import { qwen2_5_vl } from './qwen2_5_vl/family.ts';
import { qwen3 } from './qwen3/family.ts';

export const FAMILIES: readonly Family[] = [qwen2, qwen3, llama, mistral, qwen2_5_vl];

/** The family of a checkpoint's config.json, by its model_type. */
export function familyOf(raw: Record<string, unknown>): Family {
  const family = FAMILIES.find((f) => f.modelTypes.includes(raw.model_type as string));
  if (!family) {
    const known = FAMILIES.flatMap((f) => f.modelTypes).join(', ');
    throw new Error(`config.json: model_type ${JSON.stringify(raw.model_type)} is not a family this converter knows (known: ${known})`);
  }
  return family;
}

export type { Family, ConvertJob, ConvertTask, EmbeddingDefaults, Layout } from './family.ts';
