// The fields of a Hugging Face Qwen2.5-VL config.json (Qwen2_5_VLForConditionalGeneration,
// transformers 4.49–4.51 form: text fields at the top level, the vision tower under
// `vision_config`; the newer nested `text_config` is read too when present).
import { parseDecoderConfig, positiveInt, type DecoderConfig } from '../../decoder/config.ts';

export interface VisionConfig {
  depth: number;
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  headDim: number;
  /** Width of the merger output: the text model's hidden size. */
  outHiddenSize: number;
  inChannels: number;
  patchSize: number;
  temporalPatchSize: number;
  spatialMergeSize: number;
  /** Window attention side in pixels (112 → windows of 8×8 patches). */
  windowSize: number;
  fullAttentionBlocks: number[];
  /** Floats per flattened patch: channels × temporal × patch². */
  patchInputSize: number;
}

export interface VisionTokenIds {
  visionStart: number;
  visionEnd: number;
  imagePad: number;
}

export interface Qwen25VlConfig {
  text: DecoderConfig;
  /** Rotary frequencies per position component (temporal, height, width); sums to headDim / 2. */
  mropeSection: [number, number, number];
  vision: VisionConfig;
  tokens: VisionTokenIds;
}

/** The vision tower's 2-D rotary base (fixed in transformers, not in config.json). */
export const VISION_ROPE_THETA = 10000;

function parseMropeSection(ropeScaling: unknown, headDim: number): [number, number, number] {
  const r = (ropeScaling ?? {}) as Record<string, unknown>;
  const type = r.type ?? r.rope_type;
  if (type !== 'mrope' && type !== 'default') throw new Error(`config.json: rope_scaling type ${JSON.stringify(type)} is not supported for qwen2_5_vl (expected mrope)`);
  const section = r.mrope_section;
  if (!Array.isArray(section) || section.length !== 3 || !section.every((s) => Number.isInteger(s) && s > 0)) {
    throw new Error('config.json: rope_scaling.mrope_section must list 3 positive integers');
  }
  const sum = section.reduce((a: number, b: number) => a + b, 0);
  if (sum !== headDim / 2) throw new Error(`config.json: rope_scaling.mrope_section sums to ${sum}, expected head_dim / 2 = ${headDim / 2}`);
  return section as [number, number, number];
}

function parseVisionConfig(raw: unknown, textHidden: number): VisionConfig {
  if (!raw || typeof raw !== 'object') throw new Error('config.json: vision_config must be an object');
  const v = raw as Record<string, unknown>;
  const int = (key: string, fallback?: number) => positiveInt(v, key, fallback, 'vision_config.');
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_heads');
  if (hiddenSize % numHeads !== 0) throw new Error('config.json: vision_config.hidden_size must be a multiple of num_heads');
  const headDim = hiddenSize / numHeads;
  // The 2-D rotary gives each of (row, col) a quarter of the head's dimensions as frequency pairs.
  if (headDim % 4 !== 0) throw new Error('config.json: vision head dimension must be a multiple of 4 for the 2-D rotary embedding');
  const depth = int('depth');
  const patchSize = int('patch_size', 14);
  const spatialMergeSize = int('spatial_merge_size', 2);
  const windowSize = int('window_size', 112);
  if (windowSize % (patchSize * spatialMergeSize) !== 0) throw new Error('config.json: vision_config.window_size must be a multiple of patch_size × spatial_merge_size');
  const fullAttentionBlocks = v.fullatt_block_indexes ?? [];
  if (!Array.isArray(fullAttentionBlocks) || !fullAttentionBlocks.every((i) => Number.isInteger(i) && i >= 0 && i < depth)) {
    throw new Error('config.json: vision_config.fullatt_block_indexes must list block indexes below depth');
  }
  const act = v.hidden_act ?? 'silu';
  if (act !== 'silu') throw new Error(`config.json: vision_config.hidden_act ${JSON.stringify(act)} is not supported (supported: silu)`);
  const outHiddenSize = int('out_hidden_size');
  if (outHiddenSize !== textHidden) throw new Error(`config.json: vision_config.out_hidden_size ${outHiddenSize} differs from hidden_size ${textHidden}`);
  const inChannels = int('in_channels', 3);
  const temporalPatchSize = int('temporal_patch_size', 2);
  return {
    depth,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numHeads,
    headDim,
    outHiddenSize,
    inChannels,
    patchSize,
    temporalPatchSize,
    spatialMergeSize,
    windowSize,
    fullAttentionBlocks: fullAttentionBlocks as number[],
    patchInputSize: inChannels * temporalPatchSize * patchSize * patchSize,
  };
}

export function parseQwen25VlConfig(raw: Record<string, unknown>): Qwen25VlConfig {
  if (raw.model_type !== 'qwen2_5_vl') throw new Error(`config.json: unsupported model_type ${JSON.stringify(raw.model_type)} (expected qwen2_5_vl)`);
  const textRaw = { ...raw, ...((raw.text_config as Record<string, unknown> | undefined) ?? {}) };
  // Apart from M-RoPE (handled here) the language model is plain Qwen2.
  const text = parseDecoderConfig({ ...textRaw, rope_scaling: null }, { modelTypes: ['qwen2_5_vl'], attentionBias: 'always', qkNorm: false, ropeScalings: [] });
  return {
    text,
    mropeSection: parseMropeSection(textRaw.rope_scaling, text.headDim),
    vision: parseVisionConfig(raw.vision_config, text.hiddenSize),
    tokens: {
      visionStart: positiveInt(raw, 'vision_start_token_id'),
      visionEnd: positiveInt(raw, 'vision_end_token_id'),
      imagePad: positiveInt(raw, 'image_token_id'),
    },
  };
}

