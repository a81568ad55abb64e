// Decode benchmark (issue: the inference engine). On bench-0.5b (Qwen2.5-0.5B shapes,
// random weights), int4 and fp32, side by side in one run:
//   - transformers.js on the optimum export of the same weights (fp32);
//   - llama.cpp through ../shared/anchors on GGUFs written from the same checkpoint
//     (q8_0 against our int4, f32 against our fp32; f32 tiny for the per-step overhead).
// Figures: batch-1 decode tok/s and prefill/TTFT of a 512-token prompt, aggregate tok/s
// with 1/4/16 concurrent streams, and the share of a decode step spent outside
// session.run. Each measurement runs in a fresh child process (bench/decode/measure.ts).
//   npx tsx bench/decode.ts [--reps 3] [--no-transformers-js] [--no-llama-cpp]
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { checkpointDir, ensureModel } from '../models/recipe.ts';
import { anchorsDir, measureLlamaCpp, type LlamaCppFigures } from './decode/llamacpp.ts';
import type { OurFigures } from './decode/ours.ts';
import type { TransformersJsFigures } from './decode/transformers-js.ts';
import { STREAM_COUNTS, THREADS } from './decode/workload.ts';

const argv = process.argv.slice(2);
const reps = Number(argv[argv.indexOf('--reps') + 1] ?? 3) || 3;
const withTransformersJs = !argv.includes('--no-transformers-js');
const anchors = argv.includes('--no-llama-cpp') ? null : anchorsDir();

function measure<T>(peer: 'ours' | 'transformers-js', dir: string): T {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'decode', 'measure.ts'), peer, dir, String(reps)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

const f1 = (x: number) => x.toFixed(1);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

console.log(`decode benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${THREADS} threads, ${reps} reps (medians), ${new Date().toISOString().slice(0, 10)}`);
const ours = {
  int4: measure<OurFigures>('ours', ensureModel('bench-0.5b', 'int4')),
  fp32: measure<OurFigures>('ours', ensureModel('bench-0.5b', 'fp32')),
  tiny: measure<OurFigures>('ours', ensureModel('tiny', 'fp32')),
};

console.log('\n## ours (engine layout)\n');
console.log(`| model | prefill 512 tok/s | TTFT 512 ms | decode tok/s | ${STREAM_COUNTS.map((n) => `${n} streams tok/s`).join(' | ')} | outside run, batch 1 | outside run, 16 streams |`);
console.log(`|---|---|---|---|${STREAM_COUNTS.map(() => '---|').join('')}---|---|`);
for (const [name, o] of Object.entries(ours)) {
  console.log(`| ${name} | ${f1(o.prefillTokS)} | ${o.ttftMs.toFixed(0)} | ${f1(o.decodeTokS)} | ${STREAM_COUNTS.map((n) => f1(o.streams[n]!)).join(' | ')} | ${(o.outsideRun.batch1 * 100).toFixed(1)} % | ${(o.outsideRun.streams16 * 100).toFixed(1)} % |`);
}

if (withTransformersJs) {
  const tjs = measure<TransformersJsFigures>('transformers-js', ensureModel('bench-0.5b', 'optimum'));
  console.log('\n## against transformers.js (optimum export, fp32)\n');
  console.log('| figure | transformers.js | ours int4 | ours fp32 | target |');
  console.log('|---|---|---|---|---|');
  console.log(`| decode tok/s, batch 1 | ${f1(tjs.decodeTokS)} | ${f1(ours.int4.decodeTokS)} (${ratio(ours.int4.decodeTokS, tjs.decodeTokS)}) | ${f1(ours.fp32.decodeTokS)} (${ratio(ours.fp32.decodeTokS, tjs.decodeTokS)}) | ≥ 1.3×: int4 ${verdict(ours.int4.decodeTokS >= 1.3 * tjs.decodeTokS)}, fp32 ${verdict(ours.fp32.decodeTokS >= 1.3 * tjs.decodeTokS)} |`);
  console.log(`| TTFT 512 ms | ${tjs.ttftMs.toFixed(0)} | ${ours.int4.ttftMs.toFixed(0)} (${ratio(tjs.ttftMs, ours.int4.ttftMs)} faster) | ${ours.fp32.ttftMs.toFixed(0)} (${ratio(tjs.ttftMs, ours.fp32.ttftMs)} faster) | — |`);
  console.log(`| 16 requests, tok/s (theirs one after another) | ${f1(tjs.sequential16)} | ${f1(ours.int4.streams[16]!)} (${ratio(ours.int4.streams[16]!, tjs.sequential16)}) | ${f1(ours.fp32.streams[16]!)} (${ratio(ours.fp32.streams[16]!, tjs.sequential16)}) | ≥ 5×: int4 ${verdict(ours.int4.streams[16]! >= 5 * tjs.sequential16)}, fp32 ${verdict(ours.fp32.streams[16]! >= 5 * tjs.sequential16)} |`);
}

if (anchors) {
  const lc: Record<string, LlamaCppFigures> = {
    q8_0: measureLlamaCpp(anchors, checkpointDir('bench-0.5b'), 'bench-0.5b', 'q8_0', reps),
    f32: measureLlamaCpp(anchors, checkpointDir('bench-0.5b'), 'bench-0.5b', 'f32', reps),
    tiny: measureLlamaCpp(anchors, checkpointDir('tiny'), 'tiny', 'f32', reps),
  };
  const note = (l: LlamaCppFigures) => (l.contended ? ' (contended)' : '');
  console.log('\n## against llama.cpp (node-llama-cpp, same checkpoint as GGUF)\n');
  console.log('| pair | figure | llama.cpp | ours | ours ÷ llama.cpp | target |');
  console.log('|---|---|---|---|---|---|');
  const row = (pair: string, figure: string, theirs: number, mine: number, factor: number, l: LlamaCppFigures) =>
    console.log(`| ${pair} | ${figure} | ${f1(theirs)}${note(l)} | ${f1(mine)} | ${ratio(mine, theirs)} | ≥ ${factor}×: ${verdict(mine >= factor * theirs)} |`);
  row('int4 vs q8_0', 'decode tok/s', lc.q8_0!.decodeTokS, ours.int4.decodeTokS, 1, lc.q8_0!);
  row('int4 vs q8_0', 'prefill 512 tok/s', lc.q8_0!.prefillTokS, ours.int4.prefillTokS, 1, lc.q8_0!);
  row('fp32 vs f32', 'decode tok/s', lc.f32!.decodeTokS, ours.fp32.decodeTokS, 1, lc.f32!);
  row('fp32 vs f32', 'prefill 512 tok/s', lc.f32!.prefillTokS, ours.fp32.prefillTokS, 1, lc.f32!);
  row('tiny fp32 vs f32', 'decode tok/s', lc.tiny!.decodeTokS, ours.tiny.decodeTokS, 3, lc.tiny!);
} else if (!argv.includes('--no-llama-cpp')) {
  console.log('\nllama.cpp: skipped (../shared/anchors with node-llama-cpp installed not found; set XLLM_ANCHORS)');
}
