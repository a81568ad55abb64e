// The engine's one door to the decoding core (src/sampling, C in WebAssembly): the logits
// buffer ONNX Runtime writes into, sampling, top logprobs and the beam step.
import { beamStep, type BeamSurvivor } from '../sampling/beam.ts';
import { seedRng, type RngState } from '../sampling/rng.ts';
import { Sampler, type SampleRow } from '../sampling/sampler.ts';
import type { TopLogprob } from './types.ts';

export type Rng = RngState;

/** A row of a step: which logits row, and how to draw from it. */
export type SamplingRow = SampleRow & { row: number };

export interface BeamInput {
  beams: Array<{ score: number; finished: boolean; length: number; row: number | undefined }>;
  width: number;
  candidatesPerBeam: number;
  lengthPenalty?: number;
  eosTokenIds: number[];
}

export class Decoding {
  private constructor(
    private readonly sampler: Sampler,
    readonly maxRows: number,
  ) {}

  static async create(vocabSize: number, maxRows: number): Promise<Decoding> {
    return new Decoding(await Sampler.create(vocabSize, maxRows), maxRows);
  }

  /** The first `rows` rows of the logits buffer, for ONNX Runtime to write into. */
  logits(rows: number): Float32Array {
    return this.sampler.logitsView(rows);
  }

  newRng(seed: number | undefined): Rng {
    return seedRng(seed);
  }

  sample(rows: SamplingRow[]): Array<{ token: number; logprob: number; top: TopLogprob[] }> {
    return this.sampler.sample(rows).map((result) => ({ token: result.token, logprob: result.logprob, top: toTop(result.top) }));
  }

  /** Top n of the raw log_softmax of a row, highest first. */
  top(row: number, n: number): TopLogprob[] {
    return n > 0 ? toTop(this.sampler.logSoftmaxTopN(row, n)) : [];
  }

  logprobOf(row: number, token: number): number {
    return this.sampler.logprobOf(row, token);
  }

  beamStep(input: BeamInput): BeamSurvivor[] {
    return beamStep(this.sampler, input);
  }
}

function toTop(top: { ids: ArrayLike<number>; logprobs: ArrayLike<number> }): TopLogprob[] {
  return Array.from(top.ids, (tokenId, i) => ({ tokenId, logprob: top.logprobs[i] }));
}
