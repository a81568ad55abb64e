// Deterministic random-weight Qwen2.5-VL checkpoints in the Hugging Face layout: the Qwen2
// text model of random-checkpoint.ts plus the vision tower, a config.json in
// Qwen2_5_VLForConditionalGeneration form, preprocessor_config.json, and the Qwen tokenizer
// with a chat template that emits image parts the Qwen2-VL way.
//
// Tensor names follow the checkpoints published for transformers 4.49–4.51 (the Qwen/Qwen2.5-VL-*
// releases): `model.*` and `lm_head.weight` for text, `visual.*` for the vision tower.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generationConfig, QWEN_TOKENIZER_DIR, hfConfig, randomTensor, tensorSpecs, uniform, type DecoderShape } from './random-checkpoint.ts';
import { writeSafetensors, type TensorSpec } from './safetensors/writer.ts';

export interface VisionShape {
  depth: number;
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  fullAttentionBlocks: number[];
  windowSize: number;
}

export interface Qwen25VlShape extends DecoderShape {
  /** Rotary frequencies per (temporal, height, width) component; sums to headDim / 2. */
  mropeSection: [number, number, number];
  vision: VisionShape;
  /** preprocessor_config.json's pixel budget (the released models use 56² .. 28²·1280). */
  minPixels: number;
  maxPixels: number;
}

const PATCH = 14;
const TEMPORAL_PATCH = 2;
const MERGE = 2;
const IN_CHANNELS = 3;

/** Qwen2.5's vision token ids (the tokenizer files are Qwen's). */
export const VISION_TOKENS = { visionStart: 151652, visionEnd: 151653, visionPad: 151654, imagePad: 151655, videoPad: 151656 };

// Qwen2-VL's chat template: one <|vision_start|><|image_pad|><|vision_end|> per image part,
// expanded to the image's token count after tokenization.
const CHAT_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

function visionSpecs(s: Qwen25VlShape): TensorSpec[] {
  const d = s.vision.hiddenSize;
  const i = s.vision.intermediateSize;
  const merged = d * MERGE * MERGE;
  const specs: TensorSpec[] = [{ name: 'visual.patch_embed.proj.weight', shape: [d, IN_CHANNELS, TEMPORAL_PATCH, PATCH, PATCH] }];
  for (let b = 0; b < s.vision.depth; b++) {
    const p = `visual.blocks.${b}`;
    specs.push(
      { name: `${p}.norm1.weight`, shape: [d] },
      { name: `${p}.attn.qkv.weight`, shape: [3 * d, d] },
      { name: `${p}.attn.qkv.bias`, shape: [3 * d] },
      { name: `${p}.attn.proj.weight`, shape: [d, d] },
      { name: `${p}.attn.proj.bias`, shape: [d] },
      { name: `${p}.norm2.weight`, shape: [d] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [i, d] },
      { name: `${p}.mlp.gate_proj.bias`, shape: [i] },
      { name: `${p}.mlp.up_proj.weight`, shape: [i, d] },
      { name: `${p}.mlp.up_proj.bias`, shape: [i] },
      { name: `${p}.mlp.down_proj.weight`, shape: [d, i] },
      { name: `${p}.mlp.down_proj.bias`, shape: [d] },
    );
  }
  specs.push(
    { name: 'visual.merger.ln_q.weight', shape: [d] },
    { name: 'visual.merger.mlp.0.weight', shape: [merged, merged] },
    { name: 'visual.merger.mlp.0.bias', shape: [merged] },
    { name: 'visual.merger.mlp.2.weight', shape: [s.hiddenSize, merged] },
    { name: 'visual.merger.mlp.2.bias', shape: [s.hiddenSize] },
  );
  return specs;
}

/** Same scaling rules as the text model: fan-in scaled weights, half scale into the residual stream. */
function randomVisionTensor(spec: TensorSpec, seed: number): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.name.endsWith('norm1.weight') || spec.name.endsWith('norm2.weight') || spec.name.endsWith('ln_q.weight')) return uniform(count, seed, spec.name, 0.25, 1);
  if (spec.name.endsWith('.bias')) return uniform(count, seed, spec.name, 0.2);
  const fanIn = count / spec.shape[0]!;
  const writesResidual = spec.name.endsWith('attn.proj.weight') || spec.name.endsWith('down_proj.weight');
  return uniform(count, seed, spec.name, (writesResidual ? 0.5 : 1) / Math.sqrt(fanIn));
}

function vlConfig(s: Qwen25VlShape): Record<string, unknown> {
  return {
    ...hfConfig(s),
    architectures: ['Qwen2_5_VLForConditionalGeneration'],
    model_type: 'qwen2_5_vl',
    rope_scaling: { type: 'mrope', mrope_section: s.mropeSection },
    vision_start_token_id: VISION_TOKENS.visionStart,
    vision_end_token_id: VISION_TOKENS.visionEnd,
    vision_token_id: VISION_TOKENS.visionPad,
    image_token_id: VISION_TOKENS.imagePad,
    video_token_id: VISION_TOKENS.videoPad,
    vision_config: {
      depth: s.vision.depth,
      hidden_act: 'silu',
      hidden_size: s.vision.hiddenSize,
      intermediate_size: s.vision.intermediateSize,
      num_heads: s.vision.numHeads,
      in_channels: IN_CHANNELS,
      out_hidden_size: s.hiddenSize,
      patch_size: PATCH,
      spatial_merge_size: MERGE,
      spatial_patch_size: PATCH,
      temporal_patch_size: TEMPORAL_PATCH,
      window_size: s.vision.windowSize,
      fullatt_block_indexes: s.vision.fullAttentionBlocks,
      tokens_per_second: 2,
    },
    transformers_version: '4.49.0',
  };
}

function preprocessorConfig(s: Qwen25VlShape): Record<string, unknown> {
  return {
    image_processor_type: 'Qwen2VLImageProcessor',
    processor_class: 'Qwen2_5_VLProcessor',
    min_pixels: s.minPixels,
    max_pixels: s.maxPixels,
    patch_size: PATCH,
    temporal_patch_size: TEMPORAL_PATCH,
    merge_size: MERGE,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    do_resize: true,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    do_convert_rgb: true,
  };
}

/** Writes the checkpoint directory `dir` (which must not exist yet or be empty). */
export function writeRandomVlCheckpoint(dir: string, shape: Qwen25VlShape, seed: number): void {
  mkdirSync(dir, { recursive: true });
  const text = tensorSpecs(shape);
  const textNames = new Set(text.map((t) => t.name));
  writeSafetensors(join(dir, 'model.safetensors'), 'F32', [...text, ...visionSpecs(shape)], (spec) => (textNames.has(spec.name) ? randomTensor(spec, seed) : randomVisionTensor(spec, seed)));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(vlConfig(shape), null, 2) + '\n');
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(preprocessorConfig(shape), null, 2) + '\n');
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(generationConfig({}), null, 2) + '\n');
  copyFileSync(join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(QWEN_TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, chat_template: CHAT_TEMPLATE }, null, 2) + '\n');
}
