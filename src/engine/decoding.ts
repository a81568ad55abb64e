// The engine's one door to the decoding core (src/sampling, C in WebAssembly): the logits
// buffer ONNX Runtime writes into, sampling, top logprobs and the beam step.
import { Automaton, VocabularyTrie, type CompiledConstraint, type TokenSource } from '../constraint/index.ts';
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

/** Compiled constraints whose automaton (and its cached masks) is kept for the next request. */
const KEPT_AUTOMATA = 16;

export class Decoding {
  private vocabulary: { tokens: TokenSource; eos: readonly number[] } | null = null;
  private trie: VocabularyTrie | null = null;
  /** Automata by constraint key, least recently used first. */
  private readonly automata = new Map<string, Automaton>();

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

  logprobsOf(row: number, tokens: readonly number[]): number[] {
    return this.sampler.logprobsOf(row, tokens);
  }

  beamStep(input: BeamInput): BeamSurvivor[] {
    return beamStep(this.sampler, input);
  }

  /** The tokens constraints are matched against, and the ids that end an output. */
  setVocabulary(tokens: TokenSource, eos: readonly number[]): void {
    this.vocabulary = { tokens, eos };
  }

  /**
   * The automaton of a compiled constraint, acquired for one request: it calls releaseUse()
   * when done. It allocates wasm memory, so it runs between forward passes (the trie is built
   * on the first constrained request).
   */
  automaton(constraint: CompiledConstraint): Automaton {
    let automaton = this.automata.get(constraint.key);
    if (automaton) {
      this.automata.delete(constraint.key);
    } else {
      if (!this.vocabulary) throw new Error('decoding: no vocabulary for constraints (setVocabulary)');
      this.trie ??= VocabularyTrie.build(this.sampler, this.vocabulary.tokens);
      automaton = Automaton.create(this.trie, constraint.nfa, this.vocabulary.eos);
    }
    this.automata.set(constraint.key, automaton);
    if (this.automata.size > KEPT_AUTOMATA) {
      const [oldest, evicted] = this.automata.entries().next().value!;
      this.automata.delete(oldest);
      evicted.retire();
    }
    return automaton.acquire();
  }
}

function toTop(top: { ids: ArrayLike<number>; logprobs: ArrayLike<number> }): TopLogprob[] {
  return Array.from(top.ids, (tokenId, i) => ({ tokenId, logprob: top.logprobs[i] }));
}
