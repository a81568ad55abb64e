// `xllm.json`: what the converter promises about an engine-layout graph, so the engine
// never guesses input names, shapes or how positions are consumed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'xllm.json';
export const MANIFEST_FORMAT_VERSION = 1;

const positiveInt = z.number().int().positive();
const name = z.string().min(1);

const textInputs = z.object({
  inputIds: name,
  positionIds: name,
  seqlensK: name,
  totalSequenceLength: name,
  logitsIndices: name,
  pastKeys: z.array(name),
  pastValues: z.array(name),
});

const common = {
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  /** The model family that wrote it (models/families/): informational; the engine reads the fields below, never this. */
  architecture: name,
  layout: z.literal('engine'),
  /** Storage type of the linear weights: fp16 is cast to float32 inside the graph (CPU EP). */
  dtype: z.enum(['fp32', 'fp16', 'int4']),
  /** Element type of past/present KV tensors. */
  kvDtype: z.literal('float32'),
  numLayers: positiveInt,
  numAttentionHeads: positiveInt,
  numKeyValueHeads: positiveInt,
  headDim: positiveInt,
  hiddenSize: positiveInt,
  vocabSize: positiveInt,
  /** Rows of the rotary cos/sin tables: the largest position the graph can encode, plus one. */
  maxPositionEmbeddings: positiveInt,
  ropeTheta: z.number().positive(),
  /** Graph file, relative to the model directory. */
  graph: name,
  /** `logits` [n, vocabSize] for the rows of logits_indices; an embedding graph has `hiddenStates` [n, hiddenSize] instead. */
  outputs: z.object({
    logits: name.optional(),
    hiddenStates: name.optional(),
    presentKeys: z.array(name),
    presentValues: z.array(name),
  }),
  /**
   * Present on a graph converted for embeddings (`--task embed`): how a text's hidden states
   * become its vector by default, from the checkpoint's sentence-transformers config (else last
   * token, normalized, as vLLM serves a causal model for embeddings).
   */
  embedding: z.object({ pooling: z.enum(['last', 'mean']), normalize: z.boolean() }).optional(),
  /** The family's chat formats, the server's defaults for its parsers (absent: none). */
  chat: z.object({ toolCallParser: name.optional(), reasoningParser: name.optional() }).default({}),
};

/** A text model: Qwen2, Qwen3, Llama, Mistral. */
const textManifest = z.object({
  ...common,
  /**
   * How token positions reach the rotary embedding. 'position_ids': the `position_ids`
   * input [batch, seq], one position per token, read by GroupQueryAttention's own rotary
   * (older conversions feed it to `com.microsoft.RotaryEmbedding`: same input, same engine).
   */
  positions: z.literal('position_ids'),
  inputs: textInputs,
});

/**
 * A vision-language model (Qwen2.5-VL): the text graph takes `position_ids` [3, batch, seq]
 * (M-RoPE) and image embeddings scattered over the token embeddings; a second graph turns
 * pixels into them.
 */
const mropeManifest = z.object({
  ...common,
  /** 'mrope': `position_ids` int64 [3, batch, seq], the (temporal, height, width) of each token. */
  positions: z.literal('mrope'),
  /** Rotary frequencies (of headDim / 2) turned by each position component, in order. */
  mropeSection: z.tuple([positiveInt, positiveInt, positiveInt]),
  inputs: textInputs.extend({
    /** float32 [N, hiddenSize]: rows that replace the token embeddings at `imagePositions` (N may be 0). */
    imageEmbeds: name,
    /** int64 [N, 2]: (batch row, token index within this call) of each image embedding row. */
    imagePositions: name,
  }),
  vision: z.object({
    /** Vision graph file, relative to the model directory. */
    graph: name,
    /** Storage type of its linear weights. */
    dtype: z.enum(['fp32', 'fp16']),
    /** pixel_values float32 [numPatches, patchInputSize]; grid_thw int64 [1, 3]: one image a run. */
    inputs: z.object({ pixelValues: name, gridThw: name }),
    /** image_embeds float32 [numPatches / spatialMergeSize², hiddenSize], images in order. */
    outputs: z.object({ imageEmbeds: name }),
    patchInputSize: positiveInt,
    spatialMergeSize: positiveInt,
    /** Token ids of <|vision_start|>, <|vision_end|> and <|image_pad|>. */
    tokens: z.object({ visionStart: z.number().int().nonnegative(), visionEnd: z.number().int().nonnegative(), imagePad: z.number().int().nonnegative() }),
  }),
});

const manifestSchema = z.discriminatedUnion('positions', [textManifest, mropeManifest]).superRefine((m, ctx) => {
  const perLayer = [
    ['inputs', 'pastKeys'],
    ['inputs', 'pastValues'],
    ['outputs', 'presentKeys'],
    ['outputs', 'presentValues'],
  ] as const;
  for (const [group, key] of perLayer) {
    const list = (m[group] as Record<string, unknown>)[key] as string[];
    if (list.length !== m.numLayers) {
      ctx.addIssue({ code: 'custom', path: [group, key], message: `must list one name per layer (${m.numLayers}), got ${list.length}` });
    }
  }
  if ((m.outputs.logits === undefined) === (m.outputs.hiddenStates === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'must name exactly one of logits and hiddenStates' });
  }
  if ((m.outputs.hiddenStates !== undefined) !== (m.embedding !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['embedding'], message: 'must be present exactly when the graph outputs hiddenStates' });
  }
  if (m.numAttentionHeads % m.numKeyValueHeads !== 0) {
    ctx.addIssue({ code: 'custom', path: ['numKeyValueHeads'], message: 'must divide numAttentionHeads' });
  }
  if (m.positions === 'mrope' && m.mropeSection.reduce((a, b) => a + b, 0) !== m.headDim / 2) {
    ctx.addIssue({ code: 'custom', path: ['mropeSection'], message: `must sum to headDim / 2 (${m.headDim / 2})` });
  }
});

export type ModelManifest = z.infer<typeof manifestSchema>;
export type TextManifest = Extract<ModelManifest, { positions: 'position_ids' }>;
export type MropeManifest = Extract<ModelManifest, { positions: 'mrope' }>;

export type EmbeddingPooling = NonNullable<ModelManifest['embedding']>['pooling'];

/** Whether the model takes images (it has a vision graph and M-RoPE positions). */
export function hasVision(m: ModelManifest): m is MropeManifest {
  return m.positions === 'mrope';
}

/** Validates a parsed manifest; throws an Error naming the first bad field. */
export function parseManifest(value: unknown, source = MANIFEST_FILE): ModelManifest {
  const result = manifestSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    throw new Error(`invalid model manifest ${source}: ${where}: ${issue.message}`);
  }
  return result.data;
}

/** Reads and validates `DIR/xllm.json`. */
export function readManifest(dir: string): ModelManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read model manifest ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`model manifest ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseManifest(json, path);
}
