// Plain TypeScript references for the sampling tests: straightforward double arithmetic,
// full sorts, nothing shared with src/. Processed logits mirror the float32 rounding of
// the spec (logits are float32), so ties come out exactly as the spec defines them.
import type { SamplingParams } from '../../src/sampling/params.ts';

const f = Math.fround;

export type RowKind = 'random' | 'equal' | 'ties' | 'masked' | 'ascending';

/** A deterministic row generator so fast-check only has to shrink a seed. 'ascending' rows
 * raise the running top-k at every token (the worst case of a threshold scan). */
export function makeRow(vocab: number, seed: number, kind: RowKind): Float32Array {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const row = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) {
    if (kind === 'equal') row[i] = 1.5;
    else if (kind === 'ties') row[i] = Math.floor(next() * 6) - 3;
    else if (kind === 'ascending') row[i] = (i / vocab - 0.5) * 24 + next() * 1e-3;
    else row[i] = (next() - 0.5) * 24;
    if (kind === 'masked' && next() < 0.5) row[i] = -Infinity;
  }
  if (kind === 'masked') row[Math.floor(next() * vocab)] = (next() - 0.5) * 24; // one finite entry at least
  return row;
}

export function logSoftmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  return Array.from(row, (v) => v - lse);
}

/** Indices sorted by value descending, ties to the lower index. */
export function sortedIds(values: ArrayLike<number>): number[] {
  return Array.from(values, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
}

export function topN(row: ArrayLike<number>, n: number): { ids: number[]; logprobs: number[] } {
  const lp = logSoftmax(row);
  const ids = sortedIds(lp).slice(0, n);
  return { ids, logprobs: ids.map((i) => lp[i]) };
}

/** Penalties, bias and temperature in vLLM's order, rounded to float32 at each step. */
export function processLogits(row: Float32Array, p: SamplingParams, prompt: number[], output: number[]): Float32Array {
  const out = Float32Array.from(row);
  const counts = new Map<number, number>();
  for (const t of output) counts.set(t, (counts.get(t) ?? 0) + 1);
  const rep = f(p.repetitionPenalty);
  for (const t of new Set([...prompt, ...output])) {
    let v = row[t];
    if (rep !== 1) v = v > 0 ? f(v / rep) : f(v * rep);
    const c = counts.get(t) ?? 0;
    if (c > 0) v = f(v - f(p.frequencyPenalty * c + p.presencePenalty));
    out[t] = v;
  }
  for (const [t, bias] of p.logitBias) out[t] = f(out[t] + f(bias));
  if (p.temperature >= 1e-5 && p.temperature !== 1) {
    const temp = f(p.temperature);
    for (let i = 0; i < out.length; i++) out[i] = f(out[i] / temp);
  }
  return out;
}

/** The set a draw picks from (vLLM order: top-k, top-p, min-p) with probabilities. */
export function keptDistribution(processed: Float32Array, p: SamplingParams): Map<number, number> {
  const order = sortedIds(processed).filter((i) => processed[i] > -Infinity);
  if (p.temperature < 1e-5) return new Map([[order[0], 1]]);
  const max = processed[order[0]];
  const weight = (i: number) => Math.exp(processed[i] - max);
  let kept = p.topK > 0 ? order.slice(0, p.topK) : order;
  if (p.topP < 1) {
    const total = kept.reduce((s, i) => s + weight(i), 0);
    let cum = 0;
    const cut = kept.findIndex((i) => (cum += weight(i)) >= p.topP * total);
    if (cut >= 0) kept = kept.slice(0, cut + 1);
  }
  if (p.minP > 0) kept = kept.filter((i) => weight(i) >= p.minP);
  const mass = kept.reduce((s, i) => s + weight(i), 0);
  return new Map(kept.map((i) => [i, weight(i) / mass]));
}

export interface RefBeam {
  score: number;
  finished: boolean;
  length: number;
  row?: Float32Array;
}

/** API.md's beam step with the documented tie rule (key, then parent, then token). */
export function beamStepReference(beams: RefBeam[], k: number, width: number, eos: number[], lengthPenalty?: number) {
  const key = (score: number, length: number) => (lengthPenalty === undefined ? score : score / Math.max(length, 1) ** lengthPenalty);
  const pool: Array<{ parent: number; token: number; score: number; finished: boolean; key: number }> = [];
  beams.forEach((beam, parent) => {
    if (beam.finished) {
      pool.push({ parent, token: -1, score: beam.score, finished: true, key: key(beam.score, beam.length) });
      return;
    }
    const { ids, logprobs } = topN(beam.row!, k);
    ids.forEach((token, j) => {
      if (logprobs[j] === -Infinity) return;
      // The sampler's logprobs are float32: rounded so, one logprob summed in two orders (rows
      // [1, 2] and [1, 0] differ in float64's last bit) ties as it does there.
      const score = beam.score + f(logprobs[j]);
      pool.push({ parent, token, score, finished: eos.includes(token), key: key(score, beam.length + 1) });
    });
  });
  pool.sort((a, b) => b.key - a.key || a.parent - b.parent || a.token - b.token);
  return pool.slice(0, width);
}

/** xoshiro128** (the sampler's generator): the next 53-bit uniform double in [0, 1). */
export function nextUniform(state: Uint32Array): number {
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next = () => {
    const result = Math.imul(rotl(Math.imul(state[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (state[1] << 9) >>> 0;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
  };
  const high = next() >>> 5;
  const low = next() >>> 6;
  return (high * 2 ** 26 + low) / 2 ** 53;
}

/** The documented draw: the first kept token, in id order, whose cumulative probability exceeds u. */
export function drawReference(kept: ReadonlyMap<number, number>, u: number): number {
  const ids = [...kept.keys()].sort((a, b) => a - b);
  let cum = 0;
  for (const id of ids) {
    cum += kept.get(id)!;
    if (cum > u) return id;
  }
  return ids.findLast((id) => kept.get(id)! > 0)!;
}
