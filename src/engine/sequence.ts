// One sequence being generated: a choice of a request (n, best_of) or one beam. It owns a KV
// slot from admission to finish; `cached` counts its tokens whose keys/values are in the slot.
import type { FinishReason, GeneratedToken } from './types.ts';

export class Sequence {
  /** Prompt followed by generated tokens. */
  readonly tokens: number[];
  readonly generated: GeneratedToken[] = [];
  /** Tokens of `tokens` whose KV is already in the slot. */
  cached = 0;
  /** Sum of the raw logprobs of the generated tokens (best_of ranking, beam score). */
  cumulativeLogprob = 0;
  finish: FinishReason | null = null;
  /** The stop string that ended it, if one did. */
  stopString: string | null = null;
  /** Text emitted so far (kept for beams and best_of, which answer at the end). */
  text = '';
  /** The constraint automaton's state after the generated tokens (constrained requests); -1 before it starts. */
  constraintState = 0;
  /** Before the constraint starts: the last bytes written, where its start marker may be split. */
  constraintTail: number[] = [];

  constructor(
    readonly index: number,
    public slot: number,
    prompt: readonly number[],
    readonly promptLength = prompt.length,
  ) {
    this.tokens = prompt.slice();
  }

  get outputTokens(): number[] {
    return this.tokens.slice(this.promptLength);
  }

  get lastToken(): number {
    return this.tokens[this.tokens.length - 1];
  }

  /** A beam child: the parent's tokens and history, continued in `slot`. */
  fork(index: number, slot: number): Sequence {
    const child = new Sequence(index, slot, this.tokens, this.promptLength);
    child.generated.push(...this.generated);
    child.cached = this.cached;
    child.cumulativeLogprob = this.cumulativeLogprob;
    child.text = this.text;
    child.constraintState = this.constraintState;
    child.constraintTail = this.constraintTail.slice();
    return child;
  }
}
