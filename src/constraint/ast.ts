// The patterns a constraint is made of, whatever it came from (a regular expression, a JSON
// Schema, a list of choices): sequences, alternatives, bounded or unbounded repeats, and
// sets of Unicode code points, each matching one character written as UTF-8.
export type Pattern =
  | { kind: 'seq'; items: Pattern[] }
  | { kind: 'alt'; items: Pattern[] }
  | { kind: 'repeat'; item: Pattern; min: number; max: number }
  | { kind: 'chars'; ranges: ReadonlyArray<readonly [number, number]> };

/** The largest code point; surrogates (D800–DFFF) are never written. */
export const MAX_CODE_POINT = 0x10ffff;

export const seq = (...items: Pattern[]): Pattern => ({ kind: 'seq', items });
export const alt = (...items: Pattern[]): Pattern => ({ kind: 'alt', items });
/** `max` Infinity: unbounded. */
export const repeat = (item: Pattern, min: number, max: number): Pattern => ({ kind: 'repeat', item, min, max });
export const optional = (item: Pattern): Pattern => repeat(item, 0, 1);
/** Matches nothing at all: a branch that can never be taken. */
export const NEVER: Pattern = { kind: 'alt', items: [] };
export const EMPTY: Pattern = { kind: 'seq', items: [] };

/** One character among the inclusive code point ranges (merged and sorted here). */
export function chars(ranges: ReadonlyArray<readonly [number, number]>): Pattern {
  return { kind: 'chars', ranges: normalizeRanges(ranges) };
}

/** The exact text. */
export function literal(text: string): Pattern {
  return seq(...Array.from(text, (c) => chars([[c.codePointAt(0)!, c.codePointAt(0)!]])));
}

export function normalizeRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).map(([lo, hi]) => [lo, hi] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** The code points in [0, MAX_CODE_POINT] not in `ranges`. */
export function complement(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** `ranges` without the code points of `remove`. */
export function subtract(ranges: ReadonlyArray<readonly [number, number]>, remove: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const keep = complement(remove);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of normalizeRanges(ranges)) {
    for (const [klo, khi] of keep) {
      const a = Math.max(lo, klo);
      const b = Math.min(hi, khi);
      if (a <= b) out.push([a, b]);
    }
  }
  return normalizeRanges(out);
}
