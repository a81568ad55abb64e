// transformers.js (@huggingface/transformers, on onnxruntime-node) on the optimum export of
// the same weights: the single-stream run, and the same 16 stream requests served one
// after another (it has no continuous batching of independent requests).
import type { TextStreamer } from '@huggingface/transformers';
import { basename, dirname } from 'node:path';
import { DECODE_TOKENS, LONG_PROMPT_TOKENS, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS, medianOf, promptTokens, singleStream, type SingleStream } from './workload.ts';

export interface TransformersJsFigures extends SingleStream {
  /** Aggregate tokens/s of 16 stream requests served sequentially. */
  sequential16: number;
}

export async function measureTransformersJs(optimumDir: string, reps: number): Promise<TransformersJsFigures> {
  const { env, AutoModelForCausalLM, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(optimumDir);
  const model = await AutoModelForCausalLM.from_pretrained(basename(optimumDir), {
    dtype: 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
  });
  const generate = async (prompt: number[], tokens: number, onToken: () => void): Promise<void> => {
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
    const singles: SingleStream[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const times: number[] = [];
      const submitted = performance.now();
      await generate(promptTokens(LONG_PROMPT_TOKENS, rep), DECODE_TOKENS, () => times.push(performance.now()));
      singles.push(singleStream(LONG_PROMPT_TOKENS, submitted, times));
    }
    let generated = 0;
    const started = performance.now();
    for (let i = 0; i < 16; i++) await generate(promptTokens(STREAM_PROMPT_TOKENS, 100 + 16 * 20 + i), STREAM_TOKENS, () => generated++);
    const sequential16 = generated / ((performance.now() - started) / 1000);
    return { ...medianOf(singles), sequential16 };
  } finally {
    await model.dispose();
  }
}
