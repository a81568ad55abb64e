// Our engine on an engine-layout model: the single-stream run (prefill of the long prompt,
// then batch-1 decode) and the concurrent streams, with the share of wall time spent outside
// ONNX Runtime's session.run (the engine's own per-step cost: scheduling, sampling,
// detokenizing).
import { Engine, samplingParams } from '../../src/index.ts';
import { DECODE_TOKENS, LONG_PROMPT_TOKENS, STREAM_COUNTS, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS, promptTokens, singleStream, type SingleStream } from './workload.ts';

export interface OurSingle extends SingleStream {
  /** Share of the decode phase's wall time outside session.run. */
  outsideRun: number;
  /** What ran the text graph (native addon or onnxruntime-node). */
  runtime: string;
}

export interface OurStreams {
  /** Aggregate generated tokens/s with 1, 4 and 16 concurrent streams. */
  tokS: Record<number, number>;
  /** Share of the 16-stream run's wall time outside session.run. */
  outsideRun16: number;
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

/** Loads the model, warms it up, runs `body`, closes; `runMs()` is the time spent inside session.run so far. */
async function withEngine<T>(modelDir: string, body: (engine: Engine, runMs: () => number) => Promise<T>): Promise<T> {
  let inside = 0; // milliseconds inside session.run, from the engine's observer
  const engine = await Engine.load(modelDir, {
    threads: THREADS,
    maxBatchSize: 16,
    maxModelLen: 1024,
    observer: { onForward: ({ seconds }) => (inside += seconds * 1000) },
  });
  try {
    await generate(engine, 'warmup', promptTokens(LONG_PROMPT_TOKENS, 99), 4, () => {});
    return await body(engine, () => inside);
  } finally {
    await engine.close();
  }
}

export function measureOurSingle(modelDir: string, variant: number): Promise<OurSingle> {
  return withEngine(modelDir, async (engine, runMs) => {
    const times: number[] = [];
    let runAtFirstToken = 0;
    const submitted = performance.now();
    await generate(engine, 'single', promptTokens(LONG_PROMPT_TOKENS, variant), DECODE_TOKENS, () => {
      if (times.length === 0) runAtFirstToken = runMs();
      times.push(performance.now());
    });
    const decodeWall = times.at(-1)! - times[0]!;
    return { ...singleStream(LONG_PROMPT_TOKENS, submitted, times), outsideRun: 1 - (runMs() - runAtFirstToken) / decodeWall, runtime: engine.runtime };
  });
}

export function measureOurStreams(modelDir: string): Promise<OurStreams> {
  return withEngine(modelDir, async (engine, runMs) => {
    const tokS: Record<number, number> = {};
    let outsideRun16 = 0;
    for (const count of STREAM_COUNTS) {
      const runBefore = runMs();
      const started = performance.now();
      const generated = await Promise.all(
        Array.from({ length: count }, (_, i) => generate(engine, `stream-${count}-${i}`, promptTokens(STREAM_PROMPT_TOKENS, 100 + count * 20 + i), STREAM_TOKENS, () => {})),
      );
      const wall = performance.now() - started;
      tokS[count] = generated.reduce((a, b) => a + b, 0) / (wall / 1000);
      if (count === 16) outsideRun16 = 1 - (runMs() - runBefore) / wall;
    }
    return { tokS, outsideRun16 };
  });
}
