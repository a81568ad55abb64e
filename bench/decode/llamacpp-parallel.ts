// Child-process entry of bench/decode.ts: llama.cpp serving N sequences in parallel in one
// context, as a CPU user would run it for a server (node-llama-cpp's context sequences, loaded
// from ../shared/anchors' installed packages, not from this project). The workload is that of
// our concurrent-streams figure: N distinct prompts of STREAM_PROMPT_TOKENS ids, STREAM_TOKENS
// greedy tokens each, all submitted at once; aggregate tok/s = generated tokens ÷ wall time.
// Prints one JSON line.
//   node --import tsx bench/decode/llamacpp-parallel.ts ANCHORS_DIR MODEL.gguf N
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promptTokens, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS } from './workload.ts';

const [anchors, gguf, count] = process.argv.slice(2);
if (!anchors || !gguf || !count) {
  console.error('usage: llamacpp-parallel.ts ANCHORS_DIR MODEL.gguf N');
  process.exit(2);
}
const n = Number(count);
const entry = createRequire(join(anchors, 'package.json')).resolve('node-llama-cpp');
// Typed loosely on purpose: node-llama-cpp is the anchors' package, not a dependency here.
const { getLlama } = (await import(pathToFileURL(entry).href)) as { getLlama(options: object): Promise<any> };
const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, maxThreads: THREADS });
const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0, useMmap: true });
const perSequence = STREAM_PROMPT_TOKENS + STREAM_TOKENS + 8;
const context = await model.createContext({ sequences: n, contextSize: n * perSequence, batchSize: 512, threads: THREADS, flashAttention: 'auto' as never });

const sequences = Array.from({ length: n }, () => context.getSequence());

async function run(variant: number): Promise<number> {
  for (const sequence of sequences) await sequence.clearHistory();
  const started = performance.now();
  const generated = await Promise.all(
    sequences.map(async (sequence, i) => {
      let tokens = 0;
      for await (const _ of sequence.evaluate(promptTokens(STREAM_PROMPT_TOKENS, variant + i) as never, { temperature: 0, yieldEogToken: true })) {
        if (++tokens >= STREAM_TOKENS) break;
      }
      return tokens;
    }),
  );
  const wall = performance.now() - started;
  return generated.reduce((a, b) => a + b, 0) / (wall / 1000);
}

await run(1000); // warm-up: faults the weights in, builds the graphs
const tokS = await run(100 + n * 20);
console.log(JSON.stringify({ tokS, sequences: n, threads: THREADS, llamaCppRelease: llama.llamaCppRelease?.release }));
await context.dispose();
await model.dispose();
