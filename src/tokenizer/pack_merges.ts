// Packs the merge rules for the native side in one buffer: the byte-level-decoded bytes of
// each rule's left and right token back to back, so no per-rule call or Map lookup is needed.
import { byteLevelDecodeInto } from './byte_level.ts';

function badRule(rank: number, rule: unknown): never {
  throw new Error(`tokenizer.json: model.merges[${rank}] is not a pair of byte-level tokens: ${JSON.stringify(rule)}`);
}

/** Rule r: left = bytes[offsets[2r] .. offsets[2r+1]), right = bytes[offsets[2r+1] .. offsets[2r+2]). */
export function packMerges(merges: unknown[]): { bytes: Uint8Array; offsets: Int32Array } {
  let total = 0;
  for (const rule of merges) {
    if (typeof rule === 'string') total += rule.length;
    else if (Array.isArray(rule)) total += String(rule[0]).length + String(rule[1]).length;
  }
  const bytes = new Uint8Array(total);
  const offsets = new Int32Array(merges.length * 2 + 1);
  let at = 0;
  const put = (token: string, rank: number, rule: unknown) => {
    const n = byteLevelDecodeInto(token, bytes, at);
    if (n <= 0) badRule(rank, rule);
    at += n;
  };
  for (let r = 0; r < merges.length; r++) {
    const rule = merges[r];
    offsets[2 * r] = at;
    if (typeof rule === 'string') {
      const space = rule.indexOf(' ');
      if (space <= 0 || rule.indexOf(' ', space + 1) !== -1) badRule(r, rule);
      put(rule.slice(0, space), r, rule);
      offsets[2 * r + 1] = at;
      put(rule.slice(space + 1), r, rule);
    } else if (Array.isArray(rule) && rule.length === 2 && typeof rule[0] === 'string' && typeof rule[1] === 'string') {
      put(rule[0], r, rule);
      offsets[2 * r + 1] = at;
      put(rule[1], r, rule);
    } else {
      badRule(r, rule);
    }
  }
  offsets[merges.length * 2] = at;
  return { bytes, offsets };
}
