// Llama 3.x (LlamaForCausalLM): no biases unless attention_bias, Llama 3's rope scaling
// (3.1, 3.2, 3.3) or plain rope, tied or untied embeddings; <|eot_id|> ends a turn (from
// generation_config.json). Its JSON tool-call format is not implemented: --tool-call-parser
// names one explicitly.
import { parseDecoderConfig } from '../../decoder/config.ts';
import { convertDecoder } from '../../decoder/convert.ts';
import type { Family } from '../family.ts';

export const llama: Family = {
  name: 'llama',
  modelTypes: ['llama'],
  convert(job) {
    const config = parseDecoderConfig(job.raw, { modelTypes: ['llama'], attentionBias: 'config', qkNorm: false, ropeScalings: ['linear', 'llama3', 'yarn'] });
    return convertDecoder('llama', config, job);
  },
};
