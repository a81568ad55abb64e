// The server as a user runs it: `xllm serve` with its default flags, one long-lived process,
// requests over HTTP one after another. bench/decode.ts measures each figure in a fresh
// process, so it cannot see a server that slows down request after request, nor a default
// that differs from the benchmark's settings (it passes its thread count; a user does not).
//
// Per dtype of bench-0.5b (fp32 beside llama.cpp f32, int4 beside q4_0, the same bits), each
// round: llama.cpp once, then one server process answering REQUESTS streamed completions of
// the decode workload (a distinct 512-token prompt each, so no prefix-cache hit, then 64
// greedy tokens). Reported: decode tok/s of the first and last five requests (steady when the
// last five are within 10 % of the first five) and the median of all against llama.cpp's, as
// the median of per-round ratios.
//   npx tsx bench/serving.ts [--rounds 3] [--requests 20]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { checkpointDir, ensureModel } from '../models/recipe.ts';
import { startServeProcess } from '../test/server/serve-process.ts';
import { anchorsDir, measureLlamaCpp, type GgufType } from './decode/llamacpp.ts';
import { DECODE_TOKENS, LONG_PROMPT_TOKENS, median, promptTokens, singleStream, THREADS } from './decode/workload.ts';
import { streamCompletion } from './shared/completion-stream.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, requests: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const anchors = anchorsDir();
if (!anchors) throw new Error('bench/serving.ts compares with llama.cpp: ../shared/anchors with node-llama-cpp installed is needed');

/** Decode tok/s of each of `requests` consecutive requests to one fresh server on `modelDir`. */
async function serveConsecutively(modelDir: string): Promise<number[]> {
  const server = await startServeProcess(['--model', modelDir]);
  try {
    const model = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;
    const decode: number[] = [];
    for (let i = 0; i < requests; i++) {
      const prompt = promptTokens(LONG_PROMPT_TOKENS, 100 + i);
      const run = await streamCompletion(server.url, { model, prompt, max_tokens: DECODE_TOKENS, ignore_eos: true, temperature: 0 });
      if (run.completionTokens !== DECODE_TOKENS) throw new Error(`expected ${DECODE_TOKENS} tokens, usage says ${run.completionTokens}`);
      decode.push(singleStream(LONG_PROMPT_TOKENS, run.sentAt, run.arrivals).decodeTokS);
    }
    return decode;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

console.log(`serving benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, xllm serve default flags, llama.cpp ${THREADS} threads, ${rounds} rounds × ${requests} requests, ${new Date().toISOString().slice(0, 10)}`);
const rows: string[] = [];
for (const [dtype, peer] of [['fp32', 'f32'], ['int4', 'q4_0']] as const satisfies ReadonlyArray<readonly ['fp32' | 'int4', GgufType]>) {
  const dir = ensureModel('bench-0.5b', dtype);
  const perRound: Array<{ peer: number; first: number; last: number; all: number }> = [];
  for (let round = 0; round < rounds; round++) {
    const theirs = measureLlamaCpp(anchors, checkpointDir('bench-0.5b'), 'bench-0.5b', peer, 1).decodeTokS;
    const ours = await serveConsecutively(dir);
    const figures = { peer: theirs, first: median(ours.slice(0, 5)), last: median(ours.slice(-5)), all: median(ours) };
    perRound.push(figures);
    console.error(`${dtype} round ${round + 1}: llama.cpp ${theirs.toFixed(1)}, ours per request ${ours.map((x) => x.toFixed(1)).join(' ')}`);
  }
  const drift = perRound.map((r) => r.last / r.first);
  const ratio = perRound.map((r) => r.all / r.peer);
  const steady = drift.every((d) => Math.abs(d - 1) <= 0.1);
  const f1 = (x: number) => x.toFixed(1);
  rows.push(
    `| ${dtype} | llama.cpp ${peer} ${f1(median(perRound.map((r) => r.peer)))} | ${f1(median(perRound.map((r) => r.first)))} | ${f1(median(perRound.map((r) => r.last)))} | ` +
      `${drift.map((d) => d.toFixed(2)).join(' / ')} (${steady ? 'steady' : 'NOT steady'}) | ${median(ratio).toFixed(2)}× (${ratio.map((r) => r.toFixed(2)).join(' / ')}) |`,
  );
}
console.log('\n| ours | peer decode tok/s | first 5 requests tok/s | last 5 tok/s | last ÷ first, per round | ours (median of all) ÷ peer, median of rounds (per round) |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
