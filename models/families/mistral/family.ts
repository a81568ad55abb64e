// Mistral (MistralForCausalLM, v0.3 and Nemo shapes): Llama-shaped, head_dim given outright
// by Nemo. A sliding attention window (v0.1) is refused: the engine attends to everything.
import { parseDecoderConfig, refuseSlidingWindow } from '../../decoder/config.ts';
import { convertDecoder } from '../../decoder/convert.ts';
import type { Family } from '../family.ts';

export const mistral: Family = {
  name: 'mistral',
  modelTypes: ['mistral'],
  convert(job) {
    refuseSlidingWindow(job.raw);
    const config = parseDecoderConfig(job.raw, { modelTypes: ['mistral'], attentionBias: 'config', qkNorm: false, ropeScalings: [] });
    return convertDecoder('mistral', config, job);
  },
};
