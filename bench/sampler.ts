// Per-row cost of log-softmax + top-20 + top-p sampling on 151,936-wide rows (Qwen2.5's
// vocabulary) at batch 1 and 16: the wasm sampler side by side with a plain TypeScript
// implementation, same rows, same process. Run: npx tsx bench/sampler.ts
import { cpus, loadavg } from 'node:os';
import { samplingParams } from '../src/sampling/params.ts';
import { seedRng } from '../src/sampling/rng.ts';
import { Sampler, type SampleRow } from '../src/sampling/sampler.ts';

const VOCAB = 151_936;
const TOP_N = 20;
const TOP_P = 0.9;

/** Gaussian logits (flat: top-p 0.9 keeps tens of thousands); `peaked` adds strong tokens holding most of the mass, as a trained model's rows usually do. */
function makeRows(rows: number, peaked: boolean): Float32Array {
  const out = new Float32Array(rows * VOCAB);
  let seed = 42;
  const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  for (let i = 0; i < out.length; i++) out[i] = 2 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  if (peaked) for (let r = 0; r < rows; r++) for (let j = 0; j < 30; j++) out[r * VOCAB + Math.floor(uniform() * VOCAB)] += 18 - j / 2;
  return out;
}

/** The plain version: log-softmax, top-20 by insertion, top-p over a full sort, then a draw. */
function plainRow(row: Float32Array, random: () => number): { token: number; logprob: number; top: number[] } {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  const top: number[] = [];
  for (let i = 0; i < row.length; i++) {
    if (top.length === TOP_N && row[i] <= row[top[TOP_N - 1]]) continue;
    let at = Math.min(top.length, TOP_N - 1);
    top[at] = i;
    while (at > 0 && row[top[at - 1]] < row[i]) [top[at - 1], top[at]] = [top[at], top[--at]];
  }
  const order = new Uint32Array(row.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => row[b] - row[a] || a - b);
  let cum = 0;
  let keep = 0;
  while (keep < order.length && cum < TOP_P * sum) cum += Math.exp(row[order[keep++]] - max);
  let target = random() * cum;
  for (let j = 0; j < keep; j++) {
    target -= Math.exp(row[order[j]] - max);
    if (target < 0) return { token: order[j], logprob: row[order[j]] - lse, top };
  }
  return { token: order[keep - 1], logprob: row[order[keep - 1]] - lse, top };
}

/** Median and best ms per row over `repeats` runs: the machine is shared, so the best shows the uncontended cost. */
function timePerRow(repeats: number, rows: number, run: () => void): { median: number; best: number } {
  run(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6 / rows);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], best: times[0] };
}

const sampler = await Sampler.create(VOCAB, 16);
const params = samplingParams({ topP: TOP_P, seed: 1 });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`log-softmax + top-${TOP_N} + top-p ${TOP_P} sampling, vocab ${VOCAB}, ms per row (median / best); ${cpus().length} cores, load average ${load()}`);
console.log('shape   batch   wasm median   wasm best   plain TS median   plain/wasm (medians)');
for (const peaked of [true, false]) {
  for (const batch of [1, 16]) {
    const logits = makeRows(batch, peaked);
    const rows: SampleRow[] = Array.from({ length: batch }, () => ({ params, promptTokens: [], outputTokens: [], rng: seedRng(1), topN: TOP_N }));
    const wasm = timePerRow(60, batch, () => {
      sampler.logitsView(batch).set(logits);
      sampler.sample(rows);
    });
    const plain = timePerRow(5, batch, () => {
      for (let r = 0; r < batch; r++) plainRow(logits.subarray(r * VOCAB, (r + 1) * VOCAB), Math.random);
    });
    const shape = peaked ? 'peaked' : 'flat  ';
    const cells = [wasm.median.toFixed(3).padStart(11), wasm.best.toFixed(3).padStart(9), plain.median.toFixed(3).padStart(15)];
    console.log(`${shape}  ${String(batch).padStart(5)}   ${cells.join('   ')}   ${(plain.median / wasm.median).toFixed(1).padStart(9)}x`);
  }
}
console.log(`load average after: ${load()}`);
