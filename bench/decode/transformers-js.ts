// transformers.js (@huggingface/transformers, on onnxruntime-node) on the optimum export of
// the same weights: the single-stream run, and the same 16 stream requests served one
// after another (it has no continuous batching of independent requests).
import type { PreTrainedModel, TextStreamer } from '@huggingface/transformers';
import { basename, dirname } from 'node:path';
import { DECODE_TOKENS, LONG_PROMPT_TOKENS, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS, promptTokens, singleStream, type SingleStream } from './workload.ts';

type Generate = (prompt: number[], tokens: number, onToken: () => void) => Promise<void>;

/** Loads the optimum export, warms it up, runs `body` with a greedy generate(), disposes. */
async function withModel<T>(optimumDir: string, body: (generate: Generate) => Promise<T>): Promise<T> {
  const { env, AutoModelForCausalLM, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(optimumDir);
  const model: PreTrainedModel = await AutoModelForCausalLM.from_pretrained(basename(optimumDir), {
    dtype: 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
  });
  const generate: Generate = async (prompt, tokens, onToken) => {
    const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
    const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
    // The streamer's first put() is the prompt itself; each later one is a generated token.
    let puts = 0;
    // generate() only calls put/end; its types ask for a TextStreamer.
    const streamer = { put: () => (puts++ > 0 ? onToken() : undefined), end: () => {} } as unknown as TextStreamer;
    await model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: tokens, min_new_tokens: tokens, do_sample: false, eos_token_id: [], streamer });
  };
  try {
    await generate(promptTokens(LONG_PROMPT_TOKENS, 99), 4, () => {});
    return await body(generate);
  } finally {
    await model.dispose();
  }
}

export function measureTransformersJsSingle(optimumDir: string, variant: number): Promise<SingleStream> {
  return withModel(optimumDir, async (generate) => {
    const times: number[] = [];
    const submitted = performance.now();
    await generate(promptTokens(LONG_PROMPT_TOKENS, variant), DECODE_TOKENS, () => times.push(performance.now()));
    return singleStream(LONG_PROMPT_TOKENS, submitted, times);
  });
}

/** Aggregate tokens/s of the 16 stream requests served one after another. */
export function measureTransformersJsSequential16(optimumDir: string): Promise<number> {
  return withModel(optimumDir, async (generate) => {
    let generated = 0;
    const started = performance.now();
    for (let i = 0; i < 16; i++) await generate(promptTokens(STREAM_PROMPT_TOKENS, 100 + 16 * 20 + i), STREAM_TOKENS, () => generated++);
    return generated / ((performance.now() - started) / 1000);
  });
}
