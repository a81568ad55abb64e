// Qwen2 and Qwen2.5 (Qwen2ForCausalLM): biases on q/k/v, Hermes-style tool calls.
import { parseDecoderConfig, refuseSlidingWindow } from '../../decoder/config.ts';
import { convertDecoder } from '../../decoder/convert.ts';
import type { Family } from '../family.ts';
import { buildOptimumGraph } from './optimum-graph.ts';

export const qwen2: Family = {
  name: 'qwen2',
  modelTypes: ['qwen2'],
  convert(job) {
    refuseSlidingWindow(job.raw);
    const config = parseDecoderConfig(job.raw, { modelTypes: ['qwen2'], attentionBias: 'always', qkNorm: false, ropeScalings: ['linear', 'yarn'] });
    return convertDecoder('qwen2', config, job, { chat: { toolCallParser: 'qwen' }, optimum: buildOptimumGraph });
  },
};
