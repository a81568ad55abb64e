// What a model family is to the converter: everything particular to it, so that the rest of
// the code never compares architecture names. Adding a family is a folder holding one of
// these and a line in ./index.ts.
import type { ModelManifest } from '../../src/model/manifest.ts';
import type { WeightDtype } from '../decoder/weights.ts';
import type { SafetensorsCheckpoint } from '../safetensors/reader.ts';

export type Layout = 'engine' | 'optimum';

/** What the graph is for: generation (logits), or embeddings (the final hidden states, no lm_head). */
export type ConvertTask = 'generate' | 'embed';

/** How an embedding graph's hidden states are pooled by default (the manifest's `embedding`). */
export interface EmbeddingDefaults {
  pooling: 'last' | 'mean';
  normalize: boolean;
}

export interface ConvertJob {
  /** The model directory being written (a temporary one, renamed into place at the end). */
  dir: string;
  ckpt: SafetensorsCheckpoint;
  /** config.json of the checkpoint. */
  raw: Record<string, unknown>;
  dtype: WeightDtype;
  layout: Layout;
  task: ConvertTask;
  /** Set when task is 'embed': the checkpoint's pooling (sentence-transformers config), else the default. */
  embedding?: EmbeddingDefaults;
}

export interface Family {
  /** The manifest's `architecture`, and how the family is named in messages. */
  readonly name: string;
  /** config.json `model_type` values the family converts. */
  readonly modelTypes: readonly string[];
  /**
   * Writes the graph(s) into job.dir and returns the manifest (none for the optimum layout,
   * which transformers.js reads without one). Throws naming what it cannot convert.
   */
  convert(job: ConvertJob): ModelManifest | null;
  /**
   * The checkpoint's name for a tensor the converter asks for by its classic name (newer
   * transformers save some families under other prefixes); undefined: the names agree.
   */
  readonly tensorAliases?: ReadonlyArray<readonly [from: string, to: string]>;
}
