// The C constraint engine (wasm/sampler/constraint.h) inside the sampler's wasm unit, so that
// masks apply to the logits rows in place. One VocabularyTrie per model; one Automaton per
// compiled constraint, shared by every sequence that uses it and freed once the last lets go.
//
// Everything here allocates wasm memory, which may grow it: callers run it between forward
// passes (the scheduler's step), never while ONNX Runtime writes into the logits buffer.
import type { Sampler } from '../sampling/sampler.ts';
import { checkStatus } from '../sampling/status.ts';
import type { Nfa } from './nfa.ts';

/** DFA states one automaton may make; each visited state costs a 256-entry table and a vocabulary bitset. */
export const MAX_DFA_STATES = 16_384;

/** What the trie needs of a tokenizer. */
export interface TokenSource {
  /** Raw bytes of the id, or null for an id a constraint may never produce (special, unknown, empty). */
  usableBytes(id: number): Uint8Array | null;
}

export class VocabularyTrie {
  private constructor(
    readonly sampler: Sampler,
    readonly handle: number,
  ) {}

  /** The trie of ids 0..vocabSize-1 (the model's vocabulary: ids past the tokenizer's are unusable). */
  static build(sampler: Sampler, tokens: TokenSource): VocabularyTrie {
    const vocab = sampler.vocabSize;
    const pieces: Uint8Array[] = [];
    const offsets = new Int32Array(vocab + 1);
    const usable = new Uint8Array(vocab);
    for (let id = 0; id < vocab; id++) {
      const bytes = tokens.usableBytes(id);
      if (bytes && bytes.length > 0) {
        usable[id] = 1;
        pieces.push(bytes);
      }
      offsets[id + 1] = offsets[id] + (bytes && bytes.length > 0 ? bytes.length : 0);
    }
    const all = new Uint8Array(offsets[vocab]);
    let at = 0;
    for (const piece of pieces) {
      all.set(piece, at);
      at += piece.length;
    }
    const unit = sampler.unit;
    const [bytesPtr, offsetsPtr, usablePtr] = [unit.copyIn(all), unit.copyIn(offsets), unit.copyIn(usable)];
    try {
      const handle = unit.exports.xl_trie_new(vocab, bytesPtr, offsetsPtr, usablePtr) as number;
      if (!handle) throw new Error('constraint: out of wasm memory building the vocabulary trie');
      return new VocabularyTrie(sampler, handle);
    } finally {
      unit.free(bytesPtr);
      unit.free(offsetsPtr);
      unit.free(usablePtr);
    }
  }

  dispose(): void {
    this.sampler.unit.exports.xl_trie_free(this.handle);
  }
}

/** One compiled constraint: a lazily determinized DFA with cached allowed-token masks. */
export class Automaton {
  private users = 0;
  private retired = false;
  private freed = false;
  readonly start: number;

  private constructor(
    private readonly trie: VocabularyTrie,
    private readonly handle: number,
  ) {
    this.start = checkStatus(this.exports.xl_dfa_start(handle), 'constraint: start');
  }

  static create(trie: VocabularyTrie, nfa: Nfa, eosTokenIds: readonly number[]): Automaton {
    const unit = trie.sampler.unit;
    const transitions = unit.copyIn(nfa.transitions.length ? nfa.transitions : new Int32Array(1));
    const epsilons = unit.copyIn(nfa.epsilons.length ? nfa.epsilons : new Int32Array(1));
    const eos = unit.copyIn(Int32Array.from(eosTokenIds.length ? eosTokenIds : [0]));
    try {
      const handle = unit.exports.xl_dfa_new(
        trie.handle, nfa.states, nfa.transitions.length / 4, transitions, nfa.epsilons.length / 2, epsilons,
        nfa.start, nfa.accept, eos, eosTokenIds.length, MAX_DFA_STATES,
      ) as number;
      if (!handle) throw new Error('constraint: the automaton could not be made (out of wasm memory or an invalid automaton)');
      return new Automaton(trie, handle);
    } finally {
      unit.free(transitions);
      unit.free(epsilons);
      unit.free(eos);
    }
  }

  private get exports() {
    return this.trie.sampler.unit.exports;
  }

  /** The state after token `token`; 0 when it leaves the language. */
  step(state: number, token: number): number {
    return checkStatus(this.exports.xl_dfa_step_token(this.handle, state, token), 'constraint: step');
  }

  /** The state after raw `bytes`; 0 when they leave the language. */
  stepBytes(state: number, bytes: Uint8Array): number {
    const unit = this.trie.sampler.unit;
    const at = unit.copyIn(bytes.length ? bytes : new Uint8Array(1));
    try {
      return checkStatus(this.exports.xl_dfa_step(this.handle, state, at, bytes.length), 'constraint: step');
    } finally {
      unit.free(at);
    }
  }

  /** Whether the output may end in `state`. */
  accepting(state: number): boolean {
    return checkStatus(this.exports.xl_dfa_accepting(this.handle, state), 'constraint: accepting') === 1;
  }

  /** How many tokens may come next in `state` (eos included when it accepts). */
  allowedCount(state: number): number {
    return checkStatus(this.exports.xl_dfa_allowed_count(this.handle, state), 'constraint: mask');
  }

  /** Sets every logit of sampler row `row` that `state` does not allow to -inf; returns how many stay. */
  applyMask(state: number, row: number): number {
    const mask = this.exports.xl_dfa_mask(this.handle, state) as number;
    if (!mask) throw new Error('constraint: the mask could not be made (too many automaton states, or out of wasm memory)');
    const sampler = this.trie.sampler;
    return this.exports.xl_mask_apply(sampler.rowPointer(row), sampler.vocabSize, mask) as number;
  }

  /** The token ids `state` allows (tests and tools). */
  allowed(state: number): number[] {
    const mask = this.exports.xl_dfa_mask(this.handle, state) as number;
    if (!mask) throw new Error('constraint: the mask could not be made');
    const words = new Uint32Array(this.trie.sampler.unit.memory.buffer, mask, Math.ceil(this.trie.sampler.vocabSize / 32));
    const ids: number[] = [];
    words.forEach((word, w) => {
      for (let bit = 0; word !== 0; bit++, word >>>= 1) if (word & 1) ids.push(32 * w + bit);
    });
    return ids;
  }

  /** DFA states made so far. */
  get size(): number {
    return this.exports.xl_dfa_size(this.handle) as number;
  }

  /** A sequence starts using it. */
  acquire(): this {
    this.users++;
    return this;
  }

  /** A sequence is done with it; freed once retired and unused. */
  releaseUse(): void {
    this.users--;
    this.freeIfIdle();
  }

  /** The cache lets go of it; freed once no sequence uses it. */
  retire(): void {
    this.retired = true;
    this.freeIfIdle();
  }

  private freeIfIdle(): void {
    if (!this.retired || this.users > 0 || this.freed) return;
    this.freed = true;
    this.exports.xl_dfa_free(this.handle);
  }
}
