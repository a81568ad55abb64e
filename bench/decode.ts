// Decode benchmark (issue: the inference engine). On bench-0.5b (Qwen2.5-0.5B shapes,
// random weights), int4 and fp32, side by side in one run:
//   - transformers.js on the optimum export of the same weights (fp32);
//   - llama.cpp through ../shared/anchors on GGUFs written from the same checkpoint
//     (q4_0 against our int4, the same bits; f32 against our fp32; f32 tiny for the per-step
//     overhead).
// Figures: batch-1 decode tok/s and prefill/TTFT of a 512-token prompt, aggregate tok/s
// with 1/4/16 concurrent streams, the share of a decode step spent outside session.run, and
// int4 decode as a fraction of the machine's memory read bandwidth (measured each round).
// Each measurement runs in a fresh child process (bench/decode/measure.ts).
//
// This VM shares its memory bandwidth with neighbours, so figures drift by ±25 % over
// minutes. The single-stream figures are therefore taken in rounds: each round measures
// every engine once, a pair's two engines back to back, and a ratio is the median of the
// per-round ratios (each round's pair saw the same neighbours).
//
// --families instead compares the other families at real shapes (Qwen3-0.6B, Llama-3.2-1B,
// random weights), our int4 against llama.cpp q4_0 (the same bits), in rounds as above.
// --parallel compares our 16 concurrent streams with llama.cpp serving 16 sequences in
// parallel in one context (what a CPU user would run as a server), bench-0.5b int4 vs q4_0.
// --long-context: decode at 4,096 tokens of context against llama.cpp, and how long a running
// stream waits between tokens while a 4,096-token prompt is prefilled beside it.
//   npx tsx bench/decode.ts [--rounds 3] [--no-transformers-js] [--no-llama-cpp] [--families | --parallel | --long-context]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { checkpointDir, ensureModel } from '../models/recipe.ts';
import { int4BytesPerToken, measureBandwidth } from './decode/bandwidth.ts';
import { anchorsDir, ensureGguf, measureLlamaCpp, type GgufType, type LlamaCppFigures } from './decode/llamacpp.ts';
import type { Measurement } from './decode/measure.ts';
import type { OurLongContext, OurSingle, OurStreams } from './decode/ours.ts';
import { LONG_CONTEXT_TOKENS, STREAM_COUNTS, STREAM_PROMPT_TOKENS, STREAM_TOKENS, THREADS, median, type SingleStream } from './decode/workload.ts';

const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf('--rounds') + 1] ?? 3) || 3;
const withTransformersJs = !argv.includes('--no-transformers-js');
const anchors = argv.includes('--no-llama-cpp') ? null : anchorsDir();

function measure<T>(what: Measurement, dir: string, variant = 0): T {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'decode', 'measure.ts'), what, dir, String(variant)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

const f1 = (x: number) => x.toFixed(1);
const times = (x: number) => `${x.toFixed(2)}×`;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

/** Median of the per-round ratios a ÷ b, with the per-round values. */
function pairedRatio<A, B>(a: A[], b: B[], fa: (x: A) => number, fb: (x: B) => number): { ratio: number; perRound: string } {
  const ratios = a.map((x, i) => fa(x) / fb(b[i]!));
  return { ratio: median(ratios), perRound: ratios.map((r) => r.toFixed(2)).join(' / ') };
}

/** llama.cpp serving `count` sequences at once in one context (bench/decode/llamacpp-parallel.ts). */
function measureLlamaCppParallel(anchorsPath: string, gguf: string, count: number): number {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'decode', 'llamacpp-parallel.ts'), anchorsPath, gguf, String(count)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { tokS: number }).tokS;
}

if (argv.includes('--parallel')) {
  if (!anchors) throw new Error('--parallel compares with llama.cpp: ../shared/anchors with node-llama-cpp installed is needed');
  const count = 16;
  const dir = ensureModel('bench-0.5b', 'int4');
  const gguf = ensureGguf(anchors, checkpointDir('bench-0.5b'), 'bench-0.5b', 'q4_0');
  const mine: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    mine.push(measure<OurStreams>('ours-streams', dir).tokS[count]!);
    theirs.push(measureLlamaCppParallel(anchors, gguf, count));
    console.error(`parallel: round ${round + 1}/${rounds}: ours ${f1(mine.at(-1)!)}, llama.cpp ${f1(theirs.at(-1)!)}`);
  }
  const { ratio, perRound } = pairedRatio(mine, theirs, (x) => x, (x) => x);
  console.log(`parallel benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${THREADS} threads, ${rounds} rounds, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`\n| bench-0.5b, ${count} concurrent streams (${STREAM_PROMPT_TOKENS}-token prompts, ${STREAM_TOKENS} tokens each) | llama.cpp q4_0, ${count} sequences in one context | ours int4, ${count} streams | ours ÷ llama.cpp, median of rounds (per round) |`);
  console.log('|---|---|---|---|');
  console.log(`| aggregate tok/s | ${f1(median(theirs))} | ${f1(median(mine))} | ${times(ratio)} (${perRound}) |`);
  process.exit(0);
}

if (argv.includes('--long-context')) {
  if (!anchors) throw new Error('--long-context compares with llama.cpp: ../shared/anchors with node-llama-cpp installed is needed');
  const dir = ensureModel('bench-0.5b', 'int4');
  const mine: OurLongContext[] = [];
  const wholeChunks: OurLongContext[] = [];
  const theirs: LlamaCppFigures[] = [];
  for (let round = 0; round < rounds; round++) {
    mine.push(measure<OurLongContext>('ours-long', dir, round));
    wholeChunks.push(measure<OurLongContext>('ours-long-whole-chunks', dir, round));
    theirs.push(measureLlamaCpp(anchors, checkpointDir('bench-0.5b'), 'bench-0.5b', 'q4_0', 1, LONG_CONTEXT_TOKENS));
    console.error(`long context: round ${round + 1}/${rounds} done`);
  }
  console.log(`long-context benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${THREADS} threads, ${rounds} rounds, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`\n| bench-0.5b, ${LONG_CONTEXT_TOKENS}-token prompt | llama.cpp q4_0 | ours int4 | ours ÷ llama.cpp, median of rounds (per round) |`);
  console.log('|---|---|---|---|');
  for (const [figure, field] of [['decode tok/s at 4k context', (r: Pick<SingleStream, 'decodeTokS' | 'prefillTokS'>) => r.decodeTokS], ['prefill tok/s', (r: Pick<SingleStream, 'decodeTokS' | 'prefillTokS'>) => r.prefillTokS]] as const) {
    const { ratio, perRound } = pairedRatio(mine, theirs, field, field);
    console.log(`| ${figure} | ${f1(median(theirs.map(field)))} | ${f1(median(mine.map(field)))} | ${times(ratio)} (${perRound}) |`);
  }
  console.log(`\n| a running stream's p99 inter-token latency | alone | while a ${LONG_CONTEXT_TOKENS}-token prompt is prefilled beside it | during ÷ alone (target ≤ 2×), per round | the prompt's first token after (s), alone: ${f1(LONG_CONTEXT_TOKENS / median(mine.map((r) => r.prefillTokS)))} s |`);
  console.log('|---|---|---|---|---|');
  for (const [label, runs] of [['ours int4, mixed passes (default --max-decode-slowdown 1.5)', mine], ['ours int4, whole chunks of 512 between steps (--max-decode-slowdown 0)', wholeChunks]] as const) {
    const stall = runs.map((r) => r.itlDuringPrefillP99 / r.itlAloneP99);
    const verdictText = verdict(median(stall) <= 2);
    console.log(`| ${label} | ${f1(median(runs.map((r) => r.itlAloneP99)))} ms | ${f1(median(runs.map((r) => r.itlDuringPrefillP99)))} ms | ${times(median(stall))} (${stall.map((x) => times(x)).join(' / ')}): ${verdictText} | ${f1(median(runs.map((r) => r.arrivingFirstTokenS)))} |`);
  }
  process.exit(0);
}

if (argv.includes('--families')) {
  if (!anchors) throw new Error('--families compares with llama.cpp: ../shared/anchors with node-llama-cpp installed is needed');
  console.log(`families benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${THREADS} threads, ${rounds} rounds, ${new Date().toISOString().slice(0, 10)}`);
  console.log('\n| model (random weights) | figure | llama.cpp q4_0 | ours int4 | ours ÷ llama.cpp, median of rounds (per round) |');
  console.log('|---|---|---|---|---|');
  for (const name of ['qwen3-0.6b', 'llama-3.2-1b'] as const) {
    const dir = ensureModel(name, 'int4');
    const mine: OurSingle[] = [];
    const theirs: LlamaCppFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      mine.push(measure<OurSingle>('ours-single', dir, round));
      theirs.push(measureLlamaCpp(anchors, checkpointDir(name), name, 'q4_0', 1));
      console.error(`${name}: round ${round + 1}/${rounds} done`);
    }
    for (const [figure, field] of [['decode tok/s', (r: Pick<SingleStream, 'decodeTokS' | 'prefillTokS'>) => r.decodeTokS], ['prefill 512 tok/s', (r: Pick<SingleStream, 'decodeTokS' | 'prefillTokS'>) => r.prefillTokS]] as const) {
      const { ratio, perRound } = pairedRatio(mine, theirs, field, field);
      const contended = theirs.some((t) => t.contended) ? ' (some runs contended)' : '';
      console.log(`| ${name} | ${figure} | ${f1(median(theirs.map(field)))}${contended} | ${f1(median(mine.map(field)))} | ${times(ratio)} (${perRound}) |`);
    }
  }
  process.exit(0);
}

const models = {
  int4: ensureModel('bench-0.5b', 'int4'),
  fp32: ensureModel('bench-0.5b', 'fp32'),
  tiny: ensureModel('tiny', 'fp32'),
  optimum: ensureModel('bench-0.5b', 'optimum'),
};
type Ours = keyof Omit<typeof models, 'optimum'>;
const llamaPeers: Array<{ ours: Ours; type: GgufType; checkpoint: 'bench-0.5b' | 'tiny' }> = [
  { ours: 'int4', type: 'q4_0', checkpoint: 'bench-0.5b' },
  { ours: 'fp32', type: 'f32', checkpoint: 'bench-0.5b' },
  { ours: 'tiny', type: 'f32', checkpoint: 'tiny' },
];

console.log(`decode benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${THREADS} threads, ${rounds} rounds, ${new Date().toISOString().slice(0, 10)}`);
if (!anchors && !argv.includes('--no-llama-cpp')) console.log('llama.cpp: skipped (../shared/anchors with node-llama-cpp installed not found; set XLLM_ANCHORS)');

// Single-stream rounds. Each round uses another prompt (variant = round) for every engine.
const ours: Record<Ours, OurSingle[]> = { int4: [], fp32: [], tiny: [] };
const llama: Record<Ours, LlamaCppFigures[]> = { int4: [], fp32: [], tiny: [] };
const tjs: SingleStream[] = [];
const bandwidth: number[] = [];
for (let round = 0; round < rounds; round++) {
  bandwidth.push(measureBandwidth(THREADS));
  for (const peer of llamaPeers) {
    ours[peer.ours].push(measure<OurSingle>('ours-single', models[peer.ours], round));
    if (anchors) llama[peer.ours].push(measureLlamaCpp(anchors, checkpointDir(peer.checkpoint), peer.checkpoint, peer.type, 1));
    // transformers.js runs fp32 too: it goes right after our fp32, the pair its target is about.
    if (withTransformersJs && peer.ours === 'fp32') tjs.push(measure<SingleStream>('tjs-single', models.optimum, round));
  }
  console.error(`round ${round + 1}/${rounds} done`);
}
const streams: Record<Ours, OurStreams> = { int4: measure('ours-streams', models.int4), fp32: measure('ours-streams', models.fp32), tiny: measure('ours-streams', models.tiny) };

const med = <T>(runs: T[], field: (r: T) => number) => median(runs.map(field));

console.log('\n## ours (engine layout; medians over rounds)\n');
console.log(`| model | runtime | prefill 512 tok/s | TTFT 512 ms | decode tok/s | ${STREAM_COUNTS.map((n) => `${n} streams tok/s`).join(' | ')} | outside run, batch 1 | outside run, 16 streams |`);
console.log(`|---|---|---|---|---|${STREAM_COUNTS.map(() => '---|').join('')}---|---|`);
for (const name of Object.keys(ours) as Ours[]) {
  const runs = ours[name];
  const s = streams[name];
  console.log(`| ${name} | ${runs[0]!.runtime} | ${f1(med(runs, (r) => r.prefillTokS))} | ${med(runs, (r) => r.ttftMs).toFixed(0)} | ${f1(med(runs, (r) => r.decodeTokS))} | ${STREAM_COUNTS.map((n) => f1(s.tokS[n]!)).join(' | ')} | ${(med(runs, (r) => r.outsideRun) * 100).toFixed(1)} % | ${(s.outsideRun16 * 100).toFixed(1)} % |`);
}

if (withTransformersJs) {
  const sequential16 = measure<number>('tjs-sequential16', models.optimum);
  console.log('\n## against transformers.js (optimum export, fp32)\n');
  console.log('| figure | transformers.js | ours int4 (per round) | ours fp32 (per round) | target |');
  console.log('|---|---|---|---|---|');
  const decode = (name: Ours) => pairedRatio(ours[name], tjs, (r) => r.decodeTokS, (r) => r.decodeTokS);
  const ttft = (name: Ours) => pairedRatio(tjs, ours[name], (r) => r.ttftMs, (r) => r.ttftMs);
  const [d4, d32, t4, t32] = [decode('int4'), decode('fp32'), ttft('int4'), ttft('fp32')];
  console.log(`| decode tok/s, batch 1 | ${f1(med(tjs, (r) => r.decodeTokS))} | ${times(d4.ratio)} (${d4.perRound}) | ${times(d32.ratio)} (${d32.perRound}) | ≥ 1.3×: int4 ${verdict(d4.ratio >= 1.3)}, fp32 ${verdict(d32.ratio >= 1.3)} |`);
  console.log(`| TTFT 512 ms (× faster) | ${med(tjs, (r) => r.ttftMs).toFixed(0)} | ${times(t4.ratio)} (${t4.perRound}) | ${times(t32.ratio)} (${t32.perRound}) | — |`);
  const s4 = streams.int4.tokS[16]! / sequential16;
  const s32 = streams.fp32.tokS[16]! / sequential16;
  console.log(`| 16 requests tok/s (theirs one after another: ${f1(sequential16)}) | — | ${f1(streams.int4.tokS[16]!)} (${times(s4)}) | ${f1(streams.fp32.tokS[16]!)} (${times(s32)}) | ≥ 5×: int4 ${verdict(s4 >= 5)}, fp32 ${verdict(s32 >= 5)} |`);
}

if (anchors) {
  console.log('\n## against llama.cpp (node-llama-cpp, same checkpoint as GGUF)\n');
  console.log('| pair | figure | llama.cpp | ours | ours ÷ llama.cpp, median of rounds (per round) | target |');
  console.log('|---|---|---|---|---|---|');
  const row = (name: Ours, type: GgufType, figure: string, field: (r: Pick<SingleStream, 'prefillTokS' | 'decodeTokS'>) => number, factor: number) => {
    const theirs = llama[name];
    const { ratio, perRound } = pairedRatio(ours[name], theirs, field, field);
    const contended = llama[name].some((l) => l.contended) ? ' (some runs contended)' : '';
    console.log(`| ${name} vs ${type} | ${figure} | ${f1(med(theirs, field))}${contended} | ${f1(med(ours[name], field))} | ${times(ratio)} (${perRound}) | ≥ ${factor}×: ${verdict(ratio >= factor)} |`);
  };
  row('int4', 'q4_0', 'decode tok/s', (r) => r.decodeTokS, 1.25);
  row('int4', 'q4_0', 'prefill 512 tok/s', (r) => r.prefillTokS, 1);
  row('fp32', 'f32', 'decode tok/s', (r) => r.decodeTokS, 1);
  row('fp32', 'f32', 'prefill 512 tok/s', (r) => r.prefillTokS, 1);
  row('tiny', 'f32', 'decode tok/s', (r) => r.decodeTokS, 3);
}

// Decode reads every int4 weight once a step: tokens/s × bytes a step ÷ the read bandwidth
// measured in the same round is the fraction of the memory ceiling the decode reaches.
const bytesPerToken = int4BytesPerToken(JSON.parse(readFileSync(join(checkpointDir('bench-0.5b'), 'config.json'), 'utf8')));
const fractions = ours.int4.map((r, i) => (r.decodeTokS * bytesPerToken) / (bandwidth[i]! * 1e9));
console.log('\n## int4 decode against the memory ceiling\n');
console.log('| bytes read a step (int4 weights, lm_head included) | read bandwidth, 2 threads (per round) | ours int4 decode tok/s | fraction of the ceiling, median (per round) |');
console.log('|---|---|---|---|');
console.log(`| ${(bytesPerToken / 1e6).toFixed(1)} MB | ${bandwidth.map(f1).join(' / ')} GB/s | ${f1(med(ours.int4, (r) => r.decodeTokS))} | ${(median(fractions) * 100).toFixed(0)} % (${fractions.map((f) => (f * 100).toFixed(0)).join(' / ')} %) |`);
