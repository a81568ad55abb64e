// Turns the C unit's negative status codes (wasm/sampler/sampler.h) into Errors.
const MESSAGES: Record<number, string> = {
  [-1]: 'logits contain NaN',
  [-2]: 'logits contain +inf',
  [-3]: 'every logit is -inf, no token can be chosen',
  [-4]: 'the vocabulary is empty',
  [-5]: 'a token id is outside the vocabulary',
  [-6]: 'an argument is out of range',
  [-7]: 'out of wasm memory',
  [-8]: 'the constraint needs more automaton states than its limit',
};

/** Returns a non-negative status; throws `${what}: <reason>` for an error code. */
export function checkStatus(status: number, what: string): number {
  if (status >= 0) return status;
  throw new Error(`${what}: ${MESSAGES[status] ?? `error code ${status}`}`);
}
