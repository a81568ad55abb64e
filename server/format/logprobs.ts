// Logprob shapes of docs/API.md "Logprobs formats": chat's `content[]` entries and completions'
// parallel arrays. Token strings come from the model's tokenizer.
import type { GeneratedToken, InferenceEngine, TopLogprob } from '../../src/index.ts';

export interface TokenText {
  /** The token as text (a partial UTF-8 character shows as U+FFFD). */
  text(tokenId: number): string;
  /** The token's raw bytes: what `text` cannot show of a split character. */
  bytes(tokenId: number): Uint8Array;
}

/** The model's tokenizer as TokenText. */
export function tokenText(engine: InferenceEngine): TokenText {
  // A model's vocabulary may be padded past the tokenizer's: such ids have no text or bytes.
  const known = (tokenId: number) => engine.tokenizer.hasId(tokenId);
  return {
    text: (tokenId) => (known(tokenId) ? engine.tokenizer.decode([tokenId], { skipSpecialTokens: false }) : ''),
    bytes: (tokenId) => (known(tokenId) ? engine.tokenizer.tokenBytes(tokenId) : new Uint8Array()),
  };
}

export interface ChatTokenLogprob {
  token: string;
  token_id: number;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; token_id: number; logprob: number; bytes: number[] }>;
}

export function chatLogprobs(tokens: readonly GeneratedToken[], names: TokenText): ChatTokenLogprob[] {
  return tokens.map((t) => ({
    ...chatEntry(t.tokenId, t.logprob ?? 0, names),
    top_logprobs: (t.top ?? []).map((top) => chatEntry(top.tokenId, top.logprob, names)),
  }));
}

function chatEntry(tokenId: number, logprob: number, names: TokenText) {
  const token = names.text(tokenId);
  return { token, token_id: tokenId, logprob, bytes: Array.from(names.bytes(tokenId)) };
}

export interface CompletionLogprobs {
  tokens: string[];
  token_ids: number[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null>;
  text_offset: number[];
}

export function emptyCompletionLogprobs(): CompletionLogprobs {
  return { tokens: [], token_ids: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
}

/**
 * Appends tokens to `into`; `offset` is where the first one starts in the choice's text.
 * A token without a logprob (the prompt's first) gets null, as in OpenAI's echo.
 */
export function appendCompletionLogprobs(
  into: CompletionLogprobs,
  tokens: ReadonlyArray<{ tokenId: number; logprob?: number; top?: TopLogprob[] } | null>,
  tokenIds: readonly number[],
  offset: number,
  names: TokenText,
): number {
  let at = offset;
  tokens.forEach((t, i) => {
    const tokenId = t?.tokenId ?? tokenIds[i]!;
    const token = names.text(tokenId);
    into.tokens.push(token);
    into.token_ids.push(tokenId);
    into.token_logprobs.push(t?.logprob ?? null);
    into.top_logprobs.push(t?.top ? Object.fromEntries(t.top.map((top) => [names.text(top.tokenId), top.logprob])) : null);
    into.text_offset.push(at);
    at += token.length;
  });
  return at;
}
