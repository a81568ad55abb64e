// Selector matching for /v1/sample (docs/API.md): where in the tokenized prompt a literal sits.
// A literal that is one token matches every position holding that id (xLLM's rule); a
// longer one matches its non-overlapping text occurrences, left to right, and the prompt
// is tokenized in segments split at each occurrence so every match starts on a token.
import { Layout } from './arena.ts';
import { checkStatus } from './status.ts';
import { textArena, textUnit } from './text-unit.ts';

export interface SelectorEncoder {
  encode(text: string, options: { addSpecialTokens: boolean }): number[];
}

export interface SelectorMatch {
  /** The prompt's tokens (no special-token additions). */
  tokenIds: number[];
  /** Token position of each match, in prompt order. */
  matchPositions: number[];
}

const PLAIN = { addSpecialTokens: false };

export function matchSelector(prompt: string, literal: string, encoder: SelectorEncoder): SelectorMatch {
  if (typeof literal !== 'string' || literal.length === 0) throw new Error('selector: the literal is empty');
  const literalIds = encoder.encode(literal, PLAIN);
  if (literalIds.length === 0) throw new Error('selector: the literal encodes to no token');
  if (literalIds.length === 1) {
    const tokenIds = encoder.encode(prompt, PLAIN);
    return { tokenIds, matchPositions: positionsOf(tokenIds, literalIds[0]) };
  }
  const tokenIds: number[] = [];
  const matchPositions: number[] = [];
  let from = 0;
  for (let at = prompt.indexOf(literal); at >= 0; at = prompt.indexOf(literal, from)) {
    if (at > from) tokenIds.push(...encoder.encode(prompt.slice(from, at), PLAIN));
    matchPositions.push(tokenIds.length);
    tokenIds.push(...literalIds);
    from = at + literal.length;
  }
  if (from < prompt.length) tokenIds.push(...encoder.encode(prompt.slice(from), PLAIN));
  return { tokenIds, matchPositions };
}

function positionsOf(tokenIds: number[], id: number): number[] {
  const layout = new Layout();
  const idsAt = layout.take(4 * tokenIds.length);
  const outAt = layout.take(4 * tokenIds.length);
  const base = textArena.reserve(layout.size);
  textUnit.i32(base + idsAt, tokenIds.length).set(tokenIds);
  const count = checkStatus(textUnit.exports.xl_find_id(base + idsAt, tokenIds.length, id, base + outAt), 'selector');
  return Array.from(textUnit.i32(base + outAt, count));
}
