// Our engine on an engine-layout model: the single-stream run (prefill of the long prompt,
// then batch-1 decode) and the concurrent streams, with the share of wall time spent outside
// ONNX Runtime's session.run (the engine's own per-step cost: scheduling, sampling,
// detokenizing).
import { Engine, samplingParams, type EngineOptions } from '../../src/index.ts';
import { DECODE_TOKENS, LONG_CONTEXT_TOKENS, LONG_PROMPT_TOKENS, STREAM_COUNTS, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS, promptTokens, singleStream, type SingleStream } from './workload.ts';

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

/** Where a measurement runs: the cpu with THREADS threads unless told otherwise (the GPU run: deploy/gpu/check.ts). */
export type Placement = Pick<EngineOptions, 'device' | 'threads'>;

/** Loads the model, warms it up, runs `body`, closes; `runMs()` is the time spent inside session.run so far. */
async function withEngine<T>(
  modelDir: string,
  body: (engine: Engine, runMs: () => number) => Promise<T>,
  maxModelLen = 1024,
  placement: Placement & Pick<EngineOptions, 'maxDecodeSlowdown'> = {},
): Promise<T> {
  let inside = 0; // milliseconds inside session.run, from the engine's observer
  const engine = await Engine.load(modelDir, {
    threads: THREADS,
    ...placement,
    maxBatchSize: 16,
    maxModelLen,
    observer: { onForward: ({ seconds }) => (inside += seconds * 1000) },
  });
  try {
    await generate(engine, 'warmup', promptTokens(LONG_PROMPT_TOKENS, 99), 4, () => {});
    return await body(engine, () => inside);
  } finally {
    await engine.close();
  }
}

export function measureOurSingle(modelDir: string, variant: number, placement?: Placement): Promise<OurSingle> {
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
  }, undefined, placement);
}

export function measureOurStreams(modelDir: string, placement?: Placement): Promise<OurStreams> {
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
  }, undefined, placement);
}

export interface OurLongContext extends SingleStream {
  /** A running stream's inter-token latency, p99 in ms: alone, and while a long prompt is prefilled beside it. */
  itlAloneP99: number;
  itlDuringPrefillP99: number;
  /** Seconds from the long prompt's arrival beside the stream to its first token. */
  arrivingFirstTokenS: number;
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))]!;

/**
 * Decode at LONG_CONTEXT_TOKENS of context (prefill then batch-1 decode), then a stream's
 * inter-token latency alone and while a LONG_CONTEXT_TOKENS prompt is prefilled beside it, as
 * `maxDecodeSlowdown` has the engine do it (default: inside the stream's decode steps; 0: in
 * whole chunks between them).
 */
export function measureOurLongContext(modelDir: string, variant: number, maxDecodeSlowdown?: number): Promise<OurLongContext> {
  return withEngine(
    modelDir,
    async (engine) => {
      const times: number[] = [];
      const submitted = performance.now();
      await generate(engine, 'long', promptTokens(LONG_CONTEXT_TOKENS, variant), DECODE_TOKENS, () => times.push(performance.now()));
      const single = singleStream(LONG_CONTEXT_TOKENS, submitted, times);

      const ticks: number[] = [];
      let prefill: { from: number; to: number } | null = null;
      const stream = generate(engine, 'running', promptTokens(STREAM_PROMPT_TOKENS, variant + 1), 4000, () => {
        ticks.push(performance.now());
        // 64 tokens alone, then the long prompt arrives; stop 64 tokens after its first token.
        if (ticks.length === 64 && !prefill) {
          const from = performance.now();
          prefill = { from, to: Infinity };
          generate(engine, 'arriving', promptTokens(LONG_CONTEXT_TOKENS, variant + 2), 1, () => (prefill!.to = performance.now())).catch(() => {});
        }
      });
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const done = prefill as { from: number; to: number } | null;
        if (done && done.to !== Infinity && ticks.at(-1)! > done.to + 1000) break;
      }
      const gaps = ticks.slice(1).map((t, i) => ({ at: t, gap: t - ticks[i]! }));
      const window = prefill as unknown as { from: number; to: number };
      const alone = gaps.filter((g) => g.at < window.from).map((g) => g.gap);
      const during = gaps.filter((g) => g.at > window.from && g.at <= window.to + 100).map((g) => g.gap);
      stream.catch(() => {}); // the engine closes with it still running: it ends CANCELLED
      return { ...single, itlAloneP99: p99(alone.slice(8)), itlDuringPrefillP99: p99(during), arrivingFirstTokenS: (window.to - window.from) / 1000 };
    },
    LONG_CONTEXT_TOKENS + DECODE_TOKENS + 64,
    maxDecodeSlowdown === undefined ? {} : { maxDecodeSlowdown },
  );
}
