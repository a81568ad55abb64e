// Regular expressions (the common subset of JavaScript's and Python's syntax) parsed into
// patterns: alternation, groups, character classes, the escapes \d \w \s (and negations),
// `.`, quantifiers * + ? {n} {n,} {n,m} (lazy forms match the same language). What cannot be
// compiled to a finite automaton exactly — backreferences, lookaround, word boundaries,
// flags, anchors inside the pattern — is refused with a ConstraintError.
import { alt, chars, complement, repeat, seq, type Pattern } from './ast.ts';
import { ConstraintError } from './errors.ts';

const DIGIT: Array<[number, number]> = [[0x30, 0x39]];
const WORD: Array<[number, number]> = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
/** JavaScript's \s: the ASCII blanks and Unicode's spaces. */
const SPACE: Array<[number, number]> = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
/** `.` as in JavaScript: any character but the line terminators. */
const DOT = complement([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);

/** One top-level alternative, with whether it was anchored (^ first, $ last). */
export interface RegexBranch {
  pattern: Pattern;
  anchoredStart: boolean;
  anchoredEnd: boolean;
}

/** The top-level alternatives of `source`; `path` names it in errors. */
export function parseRegexBranches(source: string, path: string): RegexBranch[] {
  return new RegexParser(source, path).parse();
}

/** `source` matched as a whole (the anchors at its ends change nothing). */
export function parseRegex(source: string, path: string): Pattern {
  return alt(...parseRegexBranches(source, path).map((b) => b.pattern));
}

class RegexParser {
  private at = 0;

  constructor(
    private readonly src: string,
    private readonly path: string,
  ) {}

  parse(): RegexBranch[] {
    const branches: RegexBranch[] = [];
    for (;;) {
      const anchoredStart = this.eat('^');
      const pattern = this.concat(0);
      const anchoredEnd = this.eat('$');
      branches.push({ pattern, anchoredStart, anchoredEnd });
      if (this.at >= this.src.length) return branches;
      if (!this.eat('|')) this.fail(this.src[this.at] === ')' ? 'unbalanced )' : `unexpected ${this.src[this.at]}`);
    }
  }

  private fail(what: string): never {
    throw new ConstraintError(this.path, `regular expression ${JSON.stringify(this.src)} at ${this.at}: ${what}`);
  }

  private eat(c: string): boolean {
    if (this.src[this.at] !== c) return false;
    this.at++;
    return true;
  }

  private alternation(depth: number): Pattern {
    const items = [this.concat(depth)];
    while (this.eat('|')) items.push(this.concat(depth));
    return items.length === 1 ? items[0] : alt(...items);
  }

  private concat(depth: number): Pattern {
    const items: Pattern[] = [];
    for (;;) {
      const c = this.src[this.at];
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '$' && depth === 0 && (this.src[this.at + 1] === undefined || this.src[this.at + 1] === '|')) break;
      if (c === '^' || c === '$') this.fail('anchors are only supported at the ends of the pattern');
      items.push(this.quantified(this.atom(depth)));
    }
    return items.length === 1 ? items[0] : seq(...items);
  }

  private quantified(atom: Pattern): Pattern {
    let result = atom;
    for (;;) {
      const c = this.src[this.at];
      let bounds: [number, number] | null = null;
      if (c === '*') bounds = [0, Infinity];
      else if (c === '+') bounds = [1, Infinity];
      else if (c === '?') bounds = [0, 1];
      else if (c === '{') bounds = this.braces();
      if (!bounds) return result;
      if (c !== '{') this.at++;
      if (this.src[this.at] === '+') this.fail('possessive quantifiers are not supported');
      this.eat('?'); // lazy: the same language
      result = repeat(result, bounds[0], bounds[1]);
    }
  }

  /** {n}, {n,}, {n,m} consumed; null (nothing consumed) when `{` does not start one. */
  private braces(): [number, number] | null {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.at));
    if (!match) return null;
    this.at += match[0].length;
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
    if (max < min) this.fail(`{${min},${max}}: the maximum is below the minimum`);
    return [min, max];
  }

  private atom(depth: number): Pattern {
    const c = this.src[this.at++];
    if (c === '(') {
      if (this.src.startsWith('?:', this.at)) this.at += 2;
      else if (/^\?P?<[A-Za-z_]\w*>/.test(this.src.slice(this.at))) this.at = this.src.indexOf('>', this.at) + 1;
      else if (this.src[this.at] === '?') this.fail('lookaround, flags and other (? groups are not supported');
      const inner = this.alternation(depth + 1);
      if (!this.eat(')')) this.fail('missing )');
      return inner;
    }
    if (c === '[') return this.charClass();
    if (c === '.') return chars(DOT);
    if (c === '\\') return chars(this.escapeRanges(false));
    if (c === '*' || c === '+' || c === '?') this.fail(`nothing to repeat before ${c}`);
    if (c === '{' && this.braceQuantifierAhead()) this.fail('nothing to repeat before {');
    return this.literalChar();
  }

  private braceQuantifierAhead(): boolean {
    return /^\d+(,\d*)?\}/.test(this.src.slice(this.at));
  }

  /** The character starting at at - 1 (a surrogate pair is one character). */
  private literalChar(): Pattern {
    const cp = this.src.codePointAt(this.at - 1)!;
    if (cp > 0xffff) this.at++;
    return chars([[cp, cp]]);
  }

  /** After a backslash. In a class, \b is a backspace; outside, a word boundary (refused). */
  private escapeRanges(inClass: boolean): Array<[number, number]> {
    const c = this.src[this.at++];
    if (c === undefined) this.fail('the pattern ends with a backslash');
    const single = (cp: number): Array<[number, number]> => [[cp, cp]];
    switch (c) {
      case 'd': return DIGIT;
      case 'D': return complement(DIGIT);
      case 'w': return WORD;
      case 'W': return complement(WORD);
      case 's': return SPACE;
      case 'S': return complement(SPACE);
      case 'n': return single(0x0a);
      case 'r': return single(0x0d);
      case 't': return single(0x09);
      case 'f': return single(0x0c);
      case 'v': return single(0x0b);
      case '0': return single(0);
      case 'b':
        if (inClass) return single(0x08);
        return this.fail('word boundaries (\\b) are not supported');
      case 'x': {
        const hex = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.at));
        if (!hex) this.fail('\\x needs two hex digits');
        this.at += 2;
        return single(parseInt(hex[0], 16));
      }
      case 'u': {
        const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(this.src.slice(this.at));
        const plain = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.at));
        const hex = braced ? braced[1] : plain?.[0];
        if (!hex) this.fail('\\u needs four hex digits or {hex}');
        this.at += (braced ?? plain)![0].length;
        return single(parseInt(hex, 16));
      }
      default:
        if (/[1-9]/.test(c)) this.fail('backreferences are not supported');
        if (/[A-Za-z]/.test(c)) this.fail(`\\${c} is not supported`);
        return single(this.src.codePointAt(this.at - 1)!);
    }
  }

  private charClass(): Pattern {
    const negated = this.eat('^');
    const ranges: Array<[number, number]> = [];
    let first = true;
    for (;;) {
      const c = this.src[this.at];
      if (c === undefined) this.fail('missing ]');
      if (c === ']' && !first) break;
      first = false;
      const lo = this.classAtom();
      if (this.src[this.at] === '-' && this.src[this.at + 1] !== ']' && this.src[this.at + 1] !== undefined) {
        this.at++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0][0] !== lo[0][1] || hi[0][0] !== hi[0][1]) this.fail('a range needs single characters at both ends');
        if (hi[0][0] < lo[0][0]) this.fail('a range out of order');
        ranges.push([lo[0][0], hi[0][0]]);
      } else {
        ranges.push(...lo);
      }
    }
    this.at++; // ]
    return chars(negated ? complement(ranges) : ranges);
  }

  private classAtom(): Array<[number, number]> {
    const c = this.src[this.at++];
    if (c === '\\') return this.escapeRanges(true);
    if (c === '[' && this.src[this.at] === ':') this.fail('POSIX classes ([:alpha:]) are not supported');
    const cp = this.src.codePointAt(this.at - 1)!;
    if (cp > 0xffff) this.at++;
    return [[cp, cp]];
  }
}
