// How many prompt tokens a mixed pass takes: a decode step of the running streams and a chunk of
// a prompt in one forward pass (ModelRunner.mixedPasses). The weights are read once for both,
// but on a CPU each prompt token still costs compute, and the chunk's attention reads the
// prompt's keys and values so far, all of which the streams wait for. So the chunk is sized to
// keep a mixed pass within `slowdown` times a decode-only step: the long prompt's first token
// comes later than alone, and the streams never stall behind it.
//
// The cost of a chunk is not linear in its tokens (the int4 kernel takes rows four at a time;
// the attention's reads grow with the prompt's context), so the size is found by feedback
// rather than from a model: one token more after a pass within the target, a quarter fewer
// after one over it.

/** The first mixed pass's tokens. */
const FIRST_TOKENS = 4;
/** Weight of the newest decode-only step in the estimate of its time. */
const SMOOTHING = 0.25;

export class PrefillBudget {
  private decodeSeconds: number | null = null;
  private chunk: number;

  constructor(
    private readonly slowdown: number,
    private readonly maxTokens: number,
  ) {
    this.chunk = Math.min(maxTokens, FIRST_TOKENS);
  }

  /** Prompt tokens for the next mixed pass; 0 until a decode-only step has been timed. */
  tokens(): number {
    return this.decodeSeconds === null ? 0 : this.chunk;
  }

  observeDecode(seconds: number): void {
    this.decodeSeconds = this.decodeSeconds === null ? seconds : this.decodeSeconds + SMOOTHING * (seconds - this.decodeSeconds);
  }

  /** A mixed pass of `tokens()` prompt tokens (or fewer: a prompt's end) took `seconds`. */
  observeMixed(seconds: number): void {
    if (this.decodeSeconds === null) return;
    if (seconds > this.slowdown * this.decodeSeconds) this.chunk = Math.max(1, this.chunk - Math.max(1, this.chunk >> 2));
    else this.chunk = Math.min(this.maxTokens, this.chunk + 1);
  }
}
