// Qwen2.5-VL (Qwen2_5_VLForConditionalGeneration): a Qwen2 text model with M-RoPE and a
// vision tower, two graphs. Checkpoints saved by newer transformers name the text model
// model.language_model.* and the tower model.visual.*; both spellings load.
import type { Family } from '../family.ts';
import { parseQwen25VlConfig } from './config.ts';
import { writeVlGraphs } from './convert.ts';

export const qwen2_5_vl: Family = {
  name: 'qwen2_5_vl',
  modelTypes: ['qwen2_5_vl'],
  tensorAliases: [
    ['model.layers.', 'model.language_model.layers.'],
    ['model.embed_tokens.', 'model.language_model.embed_tokens.'],
    ['model.norm.', 'model.language_model.norm.'],
    ['visual.', 'model.visual.'],
  ],
  convert(job) {
    if (job.layout !== 'engine') throw new Error('--layout optimum is not supported for qwen2_5_vl checkpoints');
    if (job.task !== 'generate') throw new Error('--task embed is not supported for qwen2_5_vl checkpoints');
    return writeVlGraphs(job, parseQwen25VlConfig(job.raw));
  },
};
