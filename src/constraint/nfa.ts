// Patterns compiled to a byte NFA for the C engine (wasm/sampler/constraint.h): transitions
// on byte ranges and epsilon moves, one start and one accepting state. It is built back to
// front — each pattern is given the state to continue at — so alternatives that continue
// alike share their continuation instead of copying it. States that cannot reach the accepting
// state are dropped with every move into them, so that no live DFA state is a dead end.
import { MAX_CODE_POINT, type Pattern } from './ast.ts';
import { ConstraintError } from './errors.ts';

export interface Nfa {
  states: number;
  /** (from, lo, hi, to) per transition on the bytes lo..hi. */
  transitions: Int32Array;
  /** (from, to) per epsilon move. */
  epsilons: Int32Array;
  start: number;
  accept: number;
}

/** NFA states a constraint may take (the C engine's scratch grows with it). */
export const MAX_NFA_STATES = 250_000;

export function compileNfa(pattern: Pattern, path: string): Nfa {
  const builder = new Builder(path);
  const accept = builder.state();
  const start = builder.build(pattern, accept);
  return builder.finish(start, accept);
}

class Builder {
  private count = 0;
  private readonly transitions: number[] = [];
  private readonly epsilons: number[] = [];

  constructor(private readonly path: string) {}

  state(): number {
    if (this.count >= MAX_NFA_STATES) {
      throw new ConstraintError(this.path, `the constraint is too large to compile (over ${MAX_NFA_STATES} automaton states); lower its repeat counts, string lengths or item counts`);
    }
    return this.count++;
  }

  /** The entry state of `p`, which continues at `next`. */
  build(p: Pattern, next: number): number {
    switch (p.kind) {
      case 'seq': {
        let at = next;
        for (let i = p.items.length - 1; i >= 0; i--) at = this.build(p.items[i], at);
        return at;
      }
      case 'alt': {
        const entry = this.state();
        for (const item of p.items) this.epsilons.push(entry, this.build(item, next));
        return entry;
      }
      case 'repeat':
        return this.repeat(p.item, p.min, p.max, next);
      case 'chars':
        return this.chars(p.ranges, next);
    }
  }

  private repeat(item: Pattern, min: number, max: number, next: number): number {
    let at = next;
    if (max === Infinity) {
      const loop = this.state();
      this.epsilons.push(loop, next, loop, this.build(item, loop));
      at = loop;
    } else {
      // (item (item (…)?)?)?: each optional copy may stop or go on.
      for (let i = 0; i < max - min; i++) {
        const choice = this.state();
        this.epsilons.push(choice, next, choice, this.build(item, at));
        at = choice;
      }
    }
    for (let i = 0; i < min; i++) at = this.build(item, at);
    return at;
  }

  /** One character of `ranges`, as the UTF-8 byte sequences that spell it. */
  private chars(ranges: ReadonlyArray<readonly [number, number]>, next: number): number {
    const entry = this.state();
    let sequences = spelled.get(ranges);
    if (!sequences) spelled.set(ranges, (sequences = ranges.flatMap(([lo, hi]) => utf8Sequences(lo, hi))));
    for (const sequence of sequences) {
      let at = next;
      for (let i = sequence.length - 1; i > 0; i--) {
        const s = this.state();
        this.transitions.push(s, sequence[i][0], sequence[i][1], at);
        at = s;
      }
      this.transitions.push(entry, sequence[0][0], sequence[0][1], at);
    }
    return entry;
  }

  finish(start: number, accept: number): Nfa {
    // Co-reachability: walk the moves backwards from the accepting state. The moves into each
    // state are listed in one array (counting sort by target).
    const n = this.count;
    const sources = [...this.transitions.filter((_, i) => i % 4 === 0), ...this.epsilons.filter((_, i) => i % 2 === 0)];
    const targets = [...this.transitions.filter((_, i) => i % 4 === 3), ...this.epsilons.filter((_, i) => i % 2 === 1)];
    const begin = new Int32Array(n + 1);
    for (const t of targets) begin[t + 1]++;
    for (let q = 0; q < n; q++) begin[q + 1] += begin[q];
    const fill = begin.slice(0, n);
    const into = new Int32Array(targets.length);
    targets.forEach((t, i) => (into[fill[t]++] = sources[i]));
    const live = new Uint8Array(n);
    const stack = [accept];
    live[accept] = 1;
    while (stack.length > 0) {
      const q = stack.pop()!;
      for (let i = begin[q]; i < begin[q + 1]; i++) {
        if (!live[into[i]]) {
          live[into[i]] = 1;
          stack.push(into[i]);
        }
      }
    }
    if (!live[start]) throw new ConstraintError(this.path, 'the constraint admits no output at all');
    const keep = (group: number, moves: number[]) => {
      const out: number[] = [];
      for (let i = 0; i < moves.length; i += group) {
        if (!live[moves[i]] || !live[moves[i + group - 1]]) continue;
        for (let j = 0; j < group; j++) out.push(moves[i + j]);
      }
      return Int32Array.from(out);
    };
    return { states: n, transitions: keep(4, this.transitions), epsilons: keep(2, this.epsilons), start, accept };
  }
}

/** The byte sequences of each character set, spelled once: schemas repeat the same sets. */
const spelled = new WeakMap<ReadonlyArray<readonly [number, number]>, Array<Array<[number, number]>>>();

function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/**
 * The code points lo..hi (surrogates left out) as UTF-8 byte-range sequences: every
 * sequence is a list of per-byte ranges, and together they spell exactly those code points.
 * Ranges are split where the encoded length changes and wherever a byte's range would not
 * cover its continuation bytes' full span.
 */
export function utf8Sequences(lo: number, hi: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  const split = (a: number, b: number): void => {
    if (a > b) return;
    if (a <= 0xdfff && b >= 0xd800) {
      split(a, 0xd7ff);
      split(0xe000, b);
      return;
    }
    for (const max of [0x7f, 0x7ff, 0xffff]) {
      if (a <= max && max < b) {
        split(a, max);
        split(max + 1, b);
        return;
      }
    }
    for (let i = 1; i < 4; i++) {
      const m = (1 << (6 * i)) - 1;
      if ((a & ~m) !== (b & ~m)) {
        if ((a & m) !== 0) {
          split(a, a | m);
          split((a | m) + 1, b);
          return;
        }
        if ((b & m) !== m) {
          split(a, (b & ~m) - 1);
          split(b & ~m, b);
          return;
        }
      }
    }
    const x = utf8Bytes(a);
    const y = utf8Bytes(b);
    out.push(x.map((byte, i) => [byte, y[i]]));
  };
  split(Math.max(0, lo), Math.min(hi, MAX_CODE_POINT));
  return out;
}
