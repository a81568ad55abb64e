// Our engine on an engine-layout model: the single-stream run and the concurrent streams,
// with the share of wall time spent outside ONNX Runtime's session.run (the engine's own
// per-step cost: scheduling, sampling, detokenizing).
import { Engine, samplingParams } from '../../src/index.ts';
import { DECODE_TOKENS, LONG_PROMPT_TOKENS, STREAM_COUNTS, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS, medianOf, promptTokens, singleStream, type SingleStream } from './workload.ts';

export interface OurFigures extends SingleStream {
  /** Aggregate generated tokens/s with 1, 4 and 16 concurrent streams. */
  streams: Record<number, number>;
  /** Share of the decode phase's wall time outside session.run, batch 1 and 16 streams. */
  outsideRun: { batch1: number; streams16: number };
}

async function generate(engine: Engine, id: string, prompt: number[], maxTokens: number, onToken: () => void): Promise<number> {
  let count = 0;
  for await (const event of engine.generate({ requestId: id, promptTokens: prompt, sampling: samplingParams({ temperature: 0 }), maxTokens, ignoreEos: true })) {
    if (event.type !== 'delta') continue;
    for (let i = 0; i < event.tokens.length; i++) onToken();
    count += event.tokens.length;
  }
  return count;
}

export async function measureOurs(modelDir: string, reps: number): Promise<OurFigures> {
  const clock = { total: 0 }; // milliseconds inside session.run, from the engine's observer
  const engine = await Engine.load(modelDir, {
    threads: THREADS,
    maxBatchSize: 16,
    maxModelLen: 1024,
    observer: { onForward: ({ seconds }) => (clock.total += seconds * 1000) },
  });
  try {
    await generate(engine, 'warmup', promptTokens(LONG_PROMPT_TOKENS, 99), 4, () => {});
    const singles: Array<SingleStream & { outside: number }> = [];
    for (let rep = 0; rep < reps; rep++) {
      const times: number[] = [];
      let runAtFirstToken = 0;
      const submitted = performance.now();
      await generate(engine, `single-${rep}`, promptTokens(LONG_PROMPT_TOKENS, rep), DECODE_TOKENS, () => {
        if (times.length === 0) runAtFirstToken = clock.total;
        times.push(performance.now());
      });
      const decodeWall = times.at(-1)! - times[0]!;
      singles.push({ ...singleStream(LONG_PROMPT_TOKENS, submitted, times), outside: 1 - (clock.total - runAtFirstToken) / decodeWall });
    }
    const streams: Record<number, number> = {};
    let outside16 = 0;
    for (const count of STREAM_COUNTS) {
      const runBefore = clock.total;
      const started = performance.now();
      const generated = await Promise.all(
        Array.from({ length: count }, (_, i) => generate(engine, `stream-${count}-${i}`, promptTokens(STREAM_PROMPT_TOKENS, 100 + count * 20 + i), STREAM_TOKENS, () => {})),
      );
      const wall = performance.now() - started;
      streams[count] = generated.reduce((a, b) => a + b, 0) / (wall / 1000);
      if (count === 16) outside16 = 1 - (clock.total - runBefore) / wall;
    }
    const single = medianOf(singles);
    return { prefillTokS: single.prefillTokS, ttftMs: single.ttftMs, decodeTokS: single.decodeTokS, streams, outsideRun: { batch1: single.outside, streams16: outside16 } };
  } finally {
    await engine.close();
  }
}
