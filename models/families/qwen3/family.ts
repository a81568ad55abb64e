// Qwen3 (Qwen3ForCausalLM): no q/k/v biases, an RMSNorm over each head of q and k before the
// rotary, head_dim given outright; thinking in <think>, Hermes-style tool calls.
import { parseDecoderConfig, refuseSlidingWindow } from '../../decoder/config.ts';
import { convertDecoder } from '../../decoder/convert.ts';
import type { Family } from '../family.ts';

export const qwen3: Family = {
  name: 'qwen3',
  modelTypes: ['qwen3'],
  convert(job) {
    refuseSlidingWindow(job.raw);
    const config = parseDecoderConfig(job.raw, { modelTypes: ['qwen3'], attentionBias: 'config', qkNorm: true, ropeScalings: ['linear', 'yarn'] });
    return convertDecoder('qwen3', config, job, { chat: { toolCallParser: 'qwen', reasoningParser: 'qwen3' } });
  },
};
