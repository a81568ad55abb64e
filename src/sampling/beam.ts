// The beam-search step of docs/API.md over logit rows in the sampler's buffer (C: xl_beam_step).
// Ranking: cumulative logprob, or score / length^lengthPenalty when a penalty is given.
// Ties (same key) go to the lower parent index, then the lower token id (a finished beam
// carried unchanged has token -1).
import { Layout } from './arena.ts';
import type { Sampler } from './sampler.ts';
import { checkStatus } from './status.ts';

export interface BeamState {
  /** Cumulative logprob of the generated tokens. */
  score: number;
  finished: boolean;
  /** Generated tokens so far. */
  length: number;
  /** Logits row of a live beam (unused for a finished one). */
  row: number | undefined;
}

export interface BeamStepInput {
  beams: readonly BeamState[];
  /** Beams that survive the step. */
  width: number;
  /** Tokens each live beam proposes, k ≥ 1 (docs/API.md: logprobs / top_logprobs, else width). */
  candidatesPerBeam: number;
  /** score / length^lengthPenalty ranks beams when given. */
  lengthPenalty?: number;
  /** A proposal of one of these tokens is a finished beam. */
  eosTokenIds: readonly number[];
}

export interface BeamSurvivor {
  /** Index in `beams` of the beam it continues. */
  parent: number;
  /** The new token; -1 for a finished beam kept as it is. */
  token: number;
  /** Logprob of the new token (0 when token is -1). */
  logprob: number;
  /** New cumulative logprob. */
  score: number;
  finished: boolean;
  /** Generated tokens including the new one. */
  length: number;
}

export const MAX_CANDIDATES_PER_BEAM = 1024; // XL_MAX_BEAM_K
const CANDIDATE_BYTES = 40; // sizeof(xl_beam_candidate)

function validate(input: BeamStepInput, sampler: Sampler): void {
  const { beams, width, candidatesPerBeam: k, lengthPenalty } = input;
  if (beams.length === 0) throw new Error('beam step: no beams');
  if (!Number.isInteger(width) || width < 1) throw new Error(`beam step: width must be a positive integer, got ${width}`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_CANDIDATES_PER_BEAM) {
    throw new Error(`beam step: candidatesPerBeam must be 1..${MAX_CANDIDATES_PER_BEAM}, got ${k}`);
  }
  if (lengthPenalty !== undefined && !Number.isFinite(lengthPenalty)) throw new Error(`beam step: lengthPenalty must be finite, got ${lengthPenalty}`);
  beams.forEach((beam, i) => {
    if (Number.isNaN(beam.score)) throw new Error(`beam step: beam ${i} has a NaN score`);
    if (!Number.isInteger(beam.length) || beam.length < 0) throw new Error(`beam step: beam ${i} has length ${beam.length}`);
    if (!beam.finished && beam.row === undefined) throw new Error(`beam step: live beam ${i} has no logits row`);
    if (!beam.finished) sampler.rowPointer(beam.row!); // throws for a row outside the buffer
  });
}

/** The surviving beams, best first. */
export function beamStep(sampler: Sampler, input: BeamStepInput): BeamSurvivor[] {
  validate(input, sampler);
  const { beams, width, candidatesPerBeam: k, lengthPenalty, eosTokenIds } = input;
  const n = beams.length;
  const layout = new Layout();
  const scoresAt = layout.take(8 * n);
  const finishedAt = layout.take(4 * n);
  const lengthsAt = layout.take(4 * n);
  const rowsAt = layout.take(4 * n);
  const eosAt = layout.take(4 * eosTokenIds.length);
  const workAt = layout.take(CANDIDATE_BYTES * n * (k + 1));
  const outAt = layout.take(CANDIDATE_BYTES * width);
  const base = sampler.reserveStaging(layout.size);
  const memory = sampler.unit.memory.buffer;
  new Float64Array(memory, base + scoresAt, n).set(beams.map((b) => b.score));
  new Int32Array(memory, base + finishedAt, n).set(beams.map((b) => (b.finished ? 1 : 0)));
  new Int32Array(memory, base + lengthsAt, n).set(beams.map((b) => b.length));
  new Int32Array(memory, base + rowsAt, n).set(beams.map((b) => (b.finished ? 0 : b.row!)));
  new Int32Array(memory, base + eosAt, eosTokenIds.length).set(eosTokenIds);
  const count = checkStatus(
    sampler.unit.exports.xl_beam_step(
      sampler.logitsPointer, sampler.vocabSize, sampler.maxRows, n,
      base + scoresAt, base + finishedAt, base + lengthsAt, base + rowsAt, k, width,
      lengthPenalty === undefined ? 0 : 1, lengthPenalty ?? 0, base + eosAt, eosTokenIds.length,
      base + workAt, base + outAt,
    ),
    'beam step',
  );
  const out = new DataView(sampler.unit.memory.buffer, base + outAt, CANDIDATE_BYTES * width);
  return Array.from({ length: count }, (_, j) => {
    const at = j * CANDIDATE_BYTES;
    return {
      score: out.getFloat64(at, true),
      logprob: out.getFloat64(at + 16, true),
      parent: out.getInt32(at + 24, true),
      token: out.getInt32(at + 28, true),
      finished: out.getInt32(at + 32, true) !== 0,
      length: out.getInt32(at + 36, true),
    };
  });
}
