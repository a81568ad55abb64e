// The ids Hugging Face gives added tokens. It does not take the ids written in tokenizer.json
// (it only warns when they differ): a content already in the vocabulary, the model's or an
// earlier added token's, keeps that id; any other takes the next id after the model vocabulary
// (its number of entries) and the added ids so far.
import type { AddedTokenSpec } from './config.ts';

export function assignAddedIds(
  tokens: AddedTokenSpec[],
  modelId: (content: string) => number | undefined,
  modelEntries: number,
): AddedTokenSpec[] {
  const ids = new Map<string, number>();
  let max = -1;
  return tokens.map((token) => {
    let id = ids.get(token.content) ?? modelId(token.content);
    if (id === undefined) id = ids.size > 0 && (max >= modelEntries || modelEntries === 0) ? max + 1 : modelEntries;
    ids.set(token.content, id);
    max = Math.max(max, id);
    return { ...token, id };
  });
}
