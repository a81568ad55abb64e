// What one request does with each step's logits: sampling (n, best_of) draws a token per
// sequence; beam search keeps the best `width` continuations. Either way every new token goes
// through the same finish checks (EOS, stop ids, stop strings, max_tokens, context end).
import type { Automaton } from '../constraint/index.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { Decoding, Rng } from './decoding.ts';
import type { KvStore } from './kv-cache.ts';
import type { GenerateRequestState } from './requests.ts';
import { Sequence } from './sequence.ts';
import { finalText, TextOutput, type TextOptions } from './text-output.ts';
import type { FinishReason, GeneratedToken, GenerationEvent, TopLogprob, Usage } from './types.ts';

export class SequenceStepper {
  private readonly outputs = new Map<Sequence, TextOutput>();
  private readonly rngs = new Map<Sequence, Rng>();
  private readonly textOptions: TextOptions;
  private readonly eos: Set<number>;
  private readonly stopIds: Set<number>;
  /** The constraint's automaton (constrained requests), acquired until dispose(). */
  private readonly automaton: Automaton | null;
  /** End tokens an accepting automaton state allows. */
  private readonly endTokens: number;
  /** The bytes after which the constraint starts (constraintAfter), or null: from the first token. */
  private readonly startMarker: Uint8Array | null;

  constructor(
    private readonly state: GenerateRequestState,
    private readonly tokenizer: Tokenizer,
    private readonly decoding: Decoding,
    private readonly maxModelLen: number,
  ) {
    const r = state.request;
    this.textOptions = { skipSpecialTokens: r.skipSpecialTokens ?? true, stop: r.stop ?? [], includeStopStrInOutput: r.includeStopStrInOutput ?? false };
    this.eos = new Set(r.ignoreEos ? [] : tokenizer.eosTokenIds);
    this.stopIds = new Set(r.stopTokenIds ?? []);
    this.automaton = state.constraint ? decoding.automaton(state.constraint) : null;
    this.endTokens = new Set(tokenizer.eosTokenIds).size;
    this.startMarker = r.constraintAfter === undefined ? null : new TextEncoder().encode(r.constraintAfter);
  }

  /** A sequence's constraint state before its first token. */
  private get initialConstraintState(): number {
    return this.startMarker ? PENDING : this.automaton!.start;
  }

  /** The request is over: its automaton may go. */
  dispose(): void {
    this.automaton?.releaseUse();
  }

  get done(): boolean {
    return this.state.sequences.every((s) => s.finish !== null);
  }

  // ---- sampling --------------------------------------------------------------------------

  /** The first token of every sequence, all drawn from the prompt's last logits row. */
  sampleFirst(lastRow: number): void {
    const seqs = this.state.sequences;
    const seed = this.state.request.sampling.seed;
    seqs.forEach((seq, i) => {
      // Sequence i draws from its own stream, so choices differ yet a seed repeats them all.
      this.rngs.set(seq, this.decoding.newRng(seed === undefined ? undefined : seed + i));
      if (this.automaton) seq.constraintState = this.initialConstraintState;
    });
    // The sampler only reads logits rows, so every sequence draws from the prompt's last row.
    this.sampleRows(new Map(seqs.map((seq) => [seq, lastRow])));
  }

  step(rowOf: Map<Sequence, number>, kv: KvStore): void {
    if (this.state.kind === 'beam') this.beamStep(rowOf, kv);
    else this.sampleRows(rowOf);
  }

  private sampleRows(rowOf: Map<Sequence, number>): void {
    const live = this.state.sequences.filter((s) => s.finish === null);
    // Constrained: every row loses the tokens its sequence may not write (idempotent on a
    // row that several sequences share, the prompt's last row, since they all start alike).
    if (this.automaton) for (const seq of live) if (seq.constraintState !== PENDING) this.automaton.applyMask(seq.constraintState, rowOf.get(seq)!);
    // Scores read the raw row, before sampling's penalties and temperature work on it.
    const ids = this.state.request.scoreTokenIds;
    const scores = ids && live.map((seq) => this.decoding.logprobsOf(rowOf.get(seq)!, ids).map((logprob, i) => ({ tokenId: ids[i]!, logprob })));
    const topN = this.state.request.logprobs ?? 0;
    // The token's logprob costs an exp pass over the row: only for logprobs, or best_of's ranking.
    const withLogprob = this.state.request.logprobs !== undefined || this.state.buffered;
    const results = this.decoding.sample(
      live.map((seq) => ({
        row: rowOf.get(seq)!,
        params: this.state.request.sampling,
        promptTokens: this.state.promptTokens,
        outputTokens: seq.outputTokens,
        rng: this.rngs.get(seq)!,
        topN,
        withLogprob,
      })),
    );
    live.forEach((seq, i) => this.accept(seq, results[i], scores?.[i]));
  }

  private accept(seq: Sequence, result: { token: number; logprob: number; top: GeneratedToken['top'] }, scores: TopLogprob[] | undefined): void {
    const wantLogprobs = this.state.request.logprobs !== undefined;
    const generated: GeneratedToken = wantLogprobs ? { tokenId: result.token, logprob: result.logprob, top: result.top } : { tokenId: result.token };
    if (scores) generated.scores = scores;
    seq.tokens.push(result.token);
    seq.generated.push(generated);
    seq.cumulativeLogprob += result.logprob;
    let output = this.outputs.get(seq);
    if (!output) this.outputs.set(seq, (output = new TextOutput(this.tokenizer, this.textOptions)));

    let reason: FinishReason | null = this.eos.has(result.token) || this.stopIds.has(result.token) ? 'stop' : null;
    let text = '';
    let stoppedByString = false;
    if (reason === null) {
      const pushed = output.push(result.token);
      text = pushed.text;
      stoppedByString = pushed.stopped;
      if (pushed.stopped) [reason, seq.stopString] = ['stop', pushed.stop ?? null];
      else if (this.advanceConstraint(seq, result.token)) reason = 'stop';
    }
    reason ??= this.lengthReached(seq);
    if (reason !== null && !stoppedByString) text += output.flush();
    seq.text += text;
    seq.finish = reason;
    if (this.state.buffered) return;
    this.state.channel.push({ type: 'delta', index: seq.index, text, tokens: [generated] });
    if (reason !== null) this.state.channel.push(finishEvent(seq.index, seq));
  }

  /**
   * Moves a constrained sequence's automaton past `token`; true when the output is complete
   * (it may end here and nothing may follow but the end), so it stops without spending a
   * step on drawing the end token.
   */
  private advanceConstraint(seq: Sequence, token: number): boolean {
    const automaton = this.automaton;
    if (!automaton) return false;
    if (seq.constraintState === PENDING) return this.awaitStart(seq, token);
    const state = automaton.step(seq.constraintState, token);
    if (state === 0) throw new Error(`constraint: token ${token} left the constraint's language`);
    seq.constraintState = state;
    return automaton.accepting(state) && automaton.allowedCount(state) === this.endTokens;
  }

  /**
   * Before the constraint starts: look for its start marker in the bytes written so far (it
   * may span tokens); once there, the automaton takes what followed the marker.
   */
  private awaitStart(seq: Sequence, token: number): boolean {
    const marker = this.startMarker!;
    const bytes = [...seq.constraintTail, ...(this.tokenizer.hasId(token) ? this.tokenizer.tokenBytes(token) : [])];
    const at = indexOfBytes(bytes, marker);
    if (at < 0) {
      seq.constraintTail = bytes.slice(-(marker.length - 1));
      return false;
    }
    seq.constraintTail = [];
    const automaton = this.automaton!;
    const state = automaton.stepBytes(automaton.start, Uint8Array.from(bytes.slice(at + marker.length)));
    if (state === 0) throw new Error('constraint: the text after its start marker left the constraint\'s language');
    seq.constraintState = state;
    return false;
  }

  private lengthReached(seq: Sequence): FinishReason | null {
    const produced = seq.tokens.length - seq.promptLength;
    return produced >= this.state.maxTokens || seq.tokens.length >= this.maxModelLen ? 'length' : null;
  }

  // ---- beam search -----------------------------------------------------------------------

  /** The prompt's last row seeds the beams: its best `width` tokens, one beam each (every slot holds the prompt's KV). */
  startBeams(lastRow: number): void {
    const root = this.state.sequences[0];
    if (this.automaton) root.constraintState = this.initialConstraintState;
    this.advanceBeams([root], new Map([[root, lastRow]]), null);
  }

  private beamStep(rowOf: Map<Sequence, number>, kv: KvStore): void {
    this.advanceBeams(this.state.sequences, rowOf, kv);
  }

  /**
   * One beam-search step over `beams` (live ones have a logits row). Survivors that continue a
   * parent whose slot another survivor already took get a free slot of the request and a copy
   * of the parent's KV (when `kv` is given; in the seeding step every slot holds the prompt).
   */
  private advanceBeams(beams: Sequence[], rowOf: Map<Sequence, number>, kv: KvStore | null): void {
    const { beam, logprobs } = this.state.request;
    const params = beam!;
    // Constrained: each live beam's row keeps only what that beam may write next.
    if (this.automaton) for (const b of beams) if (b.finish === null && b.constraintState !== PENDING) this.automaton.applyMask(b.constraintState, rowOf.get(b)!);
    const survivors = this.decoding.beamStep({
      beams: beams.map((b) => ({ score: b.cumulativeLogprob, finished: b.finish !== null, length: b.tokens.length - b.promptLength, row: rowOf.get(b) })),
      width: params.width,
      candidatesPerBeam: params.candidatesPerBeam,
      lengthPenalty: params.lengthPenalty,
      eosTokenIds: [...this.eos],
    });
    // Beams that stay in their slot: finished ones carried as they are, and parents extended
    // in place. Every other slot of the request is free for a fork (fewer survivors than the
    // width, as when a constraint leaves few tokens, leave slots unused until a later step).
    const staying = new Set([...survivors.map((s) => beams[s.parent])]);
    const taken = new Set([...staying].map((b) => b.slot));
    const spare = this.state.slots.filter((slot) => !taken.has(slot));
    const claimed = new Set<Sequence>();
    // Forks first, from parents not yet extended in place.
    const plan = survivors.map((s) => {
      if (s.token < 0) return { survivor: s, seq: beams[s.parent] };
      const parent = beams[s.parent];
      if (!claimed.has(parent)) {
        claimed.add(parent);
        return { survivor: s, seq: parent, inPlace: true };
      }
      const slot = spare.shift()!;
      kv?.copySlot(parent.slot, slot, parent.cached);
      return { survivor: s, seq: parent.fork(0, slot) };
    });
    const topN = logprobs ?? 0;
    const next: Sequence[] = [];
    for (const { survivor, seq } of plan) {
      if (survivor.token >= 0) {
        const row = rowOf.get(beams[survivor.parent])!;
        const logprob = survivor.logprob; // the raw log_softmax the beam step ranked with
        seq.tokens.push(survivor.token);
        seq.generated.push({ tokenId: survivor.token, logprob, top: this.decoding.top(row, topN) });
        seq.cumulativeLogprob += logprob;
        seq.finish = survivor.finished || this.stopIds.has(survivor.token) ? 'stop' : null;
        if (seq.finish === null && this.textOptions.stop.length > 0) {
          seq.stopString = finalText(this.tokenizer, seq.outputTokens, this.textOptions).stop ?? null;
          if (seq.stopString !== null) seq.finish = 'stop';
        }
        if (seq.finish === null && this.advanceConstraint(seq, survivor.token)) seq.finish = 'stop';
        seq.finish ??= this.lengthReached(seq);
      }
      next.push(seq);
    }
    this.state.sequences = next;
  }

  // ---- the end ---------------------------------------------------------------------------

  /** Emits what was held back (best_of, beams) and returns the usage. */
  finish(): Usage {
    const state = this.state;
    let returned = state.sequences;
    if (state.kind === 'beam') {
      returned = [...state.sequences].sort((a, b) => this.beamScore(b) - this.beamScore(a)).slice(0, state.request.n ?? state.width);
      for (const seq of returned) {
        const tokens = seq.outputTokens.filter((t) => !(this.eos.has(t) || this.stopIds.has(t)));
        seq.text = finalText(this.tokenizer, tokens, this.textOptions).text;
        if (state.request.logprobs === undefined) for (const g of seq.generated) (delete g.logprob, delete g.top);
      }
    } else if (state.buffered) {
      const mean = (s: Sequence) => s.cumulativeLogprob / Math.max(1, s.generated.length);
      returned = [...state.sequences].sort((a, b) => mean(b) - mean(a)).slice(0, state.request.n ?? 1);
    }
    if (state.buffered) {
      returned.forEach((seq, index) => {
        state.channel.push({ type: 'delta', index, text: seq.text, tokens: seq.generated });
        state.channel.push(finishEvent(index, seq));
      });
    }
    const counted = state.kind === 'beam' ? returned : state.sequences;
    return {
      promptTokens: state.promptTokens.length,
      completionTokens: counted.reduce((sum, s) => sum + s.generated.length, 0),
      cachedTokens: state.cachedTokens,
    };
  }

  private beamScore(seq: Sequence): number {
    const penalty = this.state.request.beam?.lengthPenalty;
    const length = Math.max(1, seq.generated.length);
    return penalty === undefined ? seq.cumulativeLogprob : seq.cumulativeLogprob / Math.pow(length, penalty);
  }
}

/** A sequence's constraint state while its start marker has not been written yet. */
const PENDING = -1;

function indexOfBytes(haystack: readonly number[], needle: Uint8Array): number {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    let j = 0;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** A sequence's finish event, with the stop string that ended it if one did. */
function finishEvent(index: number, seq: Sequence): GenerationEvent {
  return { type: 'finish', index, reason: seq.finish!, text: '', ...(seq.stopString !== null ? { stop: seq.stopString } : {}) };
}
