// JSON Schema → the pattern of the JSON texts that validate against it, written compactly
// (at most one space after ':' and ',', none elsewhere, so a model cannot wander in blanks).
// Every text the pattern admits validates; where a keyword cannot be enforced exactly the
// schema is refused with a ConstraintError naming it, never loosened. Where the pattern is a
// strict subset of the valid texts it says so: object properties in their declared order and
// only declared ones; numbers without exponents and with at most 15 integer and 8 fraction
// digits; bounds rounded inward to whole numbers; recursion through $ref at most 3 levels
// deep; `date` never on 29 February.
import { alt, chars, EMPTY, literal, NEVER, optional, repeat, seq, subtract, MAX_CODE_POINT, type Pattern } from './ast.ts';
import { childPath, ConstraintError } from './errors.ts';
import { compileNfa, type Nfa } from './nfa.ts';
import { parseRegexBranches } from './regex.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = boolean | { [key: string]: Json };

const MAX_REF_DEPTH = 3;
/** Depth of containers in a value a schema leaves open (`{}`, json_object). */
const ANY_VALUE_DEPTH = 3;
const MAX_INT_DIGITS = 15;
const MAX_FRACTION_DIGITS = 8;
const MAX_MAGNITUDE = 10 ** MAX_INT_DIGITS - 1;

const SPACE = optional(literal(' '));
const COMMA = seq(literal(','), SPACE);
const COLON = seq(literal(':'), SPACE);
const DIGIT = chars([[0x30, 0x39]]);
const HEX = chars([[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]]);
const digit = (d: number) => chars([[0x30 + d, 0x30 + d]]);

/** One character of a JSON string's content, raw or escaped (no lone surrogate escapes). */
const STRING_CHAR = alt(
  chars(subtract([[0, MAX_CODE_POINT]], [[0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]])),
  seq(literal('\\'), chars([[0x22, 0x22], [0x2f, 0x2f], [0x5c, 0x5c], [0x62, 0x62], [0x66, 0x66], [0x6e, 0x6e], [0x72, 0x72], [0x74, 0x74]])),
  seq(literal('\\u'), alt(seq(chars([[0x30, 0x39], [0x41, 0x43], [0x45, 0x46], [0x61, 0x63], [0x65, 0x66]]), HEX, HEX, HEX), seq(chars([[0x44, 0x44], [0x64, 0x64]]), chars([[0x30, 0x37]]), HEX, HEX))),
);

const quoted = (content: Pattern) => seq(literal('"'), content, literal('"'));
const ANY_STRING = quoted(repeat(STRING_CHAR, 0, Infinity));
const UNBOUNDED_INTEGER = seq(optional(literal('-')), alt(literal('0'), seq(chars([[0x31, 0x39]]), repeat(DIGIT, 0, MAX_INT_DIGITS - 1))));
const FRACTION = seq(literal('.'), repeat(DIGIT, 1, MAX_FRACTION_DIGITS));
const ANY_NUMBER = seq(UNBOUNDED_INTEGER, optional(FRACTION));

/** Any JSON value with containers nested at most `depth` deep. */
function anyValue(depth: number): Pattern {
  const scalars = [ANY_STRING, ANY_NUMBER, literal('true'), literal('false'), literal('null')];
  return depth > 0 ? alt(...scalars, anyObject(depth), anyArray(depth)) : alt(...scalars);
}

function anyObject(depth: number): Pattern {
  const pair = seq(ANY_STRING, COLON, anyValue(depth - 1));
  return seq(literal('{'), optional(seq(pair, repeat(seq(COMMA, pair), 0, Infinity))), literal('}'));
}

function anyArray(depth: number): Pattern {
  const item = anyValue(depth - 1);
  return seq(literal('['), optional(seq(item, repeat(seq(COMMA, item), 0, Infinity))), literal(']'));
}

/** json_object mode: any JSON object. */
export function anyJsonObject(): Pattern {
  return anyObject(ANY_VALUE_DEPTH);
}

// ---- numbers ----------------------------------------------------------------------------

/** Decimal strings of one length from lo to hi (lo <= hi, same length). */
function digitsRange(lo: string, hi: string): Pattern {
  if (lo.length === 0) return EMPTY;
  const [a, b] = [Number(lo[0]), Number(hi[0])];
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  if (a === b) return seq(digit(a), digitsRange(restLo, restHi));
  if (/^0*$/.test(restLo) && /^9*$/.test(restHi)) return seq(chars([[0x30 + a, 0x30 + b]]), repeat(DIGIT, restLo.length, restLo.length));
  const parts = [seq(digit(a), digitsRange(restLo, '9'.repeat(restLo.length)))];
  if (a + 1 <= b - 1) parts.push(seq(chars([[0x30 + a + 1, 0x30 + b - 1]]), repeat(DIGIT, restLo.length, restLo.length)));
  parts.push(seq(digit(b), digitsRange('0'.repeat(restLo.length), restHi)));
  return alt(...parts);
}

/** Whole numbers lo..hi (0 <= lo <= hi) without leading zeros. */
function naturalRange(lo: number, hi: number): Pattern {
  const parts: Pattern[] = [];
  for (let length = String(lo).length; length <= String(hi).length; length++) {
    const from = Math.max(lo, length === 1 ? 0 : 10 ** (length - 1));
    const to = Math.min(hi, 10 ** length - 1);
    if (from <= to) parts.push(digitsRange(String(from), String(to)));
  }
  return alt(...parts);
}

/** Integers lo..hi written without leading zeros or -0. */
function integerRange(lo: number, hi: number): Pattern {
  const parts: Pattern[] = [];
  if (hi >= 0) parts.push(naturalRange(Math.max(lo, 0), hi));
  if (lo < 0) parts.push(seq(literal('-'), naturalRange(Math.max(-hi, 1), -lo)));
  return alt(...parts);
}

interface Bounds {
  lo: number;
  hi: number;
  bounded: boolean;
}

/** The whole-number bounds a number schema allows (inclusive), rounded inward. */
function integerBounds(schema: { [key: string]: Json }, path: string): Bounds {
  let lo = -MAX_MAGNITUDE;
  let hi = MAX_MAGNITUDE;
  const number = (key: string): number | undefined => {
    const value = schema[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConstraintError(childPath(path, key), `${key} must be a finite number (the boolean form of draft 4 is not supported)`);
    }
    return value;
  };
  const minimum = number('minimum');
  const maximum = number('maximum');
  const exclusiveMinimum = number('exclusiveMinimum');
  const exclusiveMaximum = number('exclusiveMaximum');
  if (minimum !== undefined) lo = Math.max(lo, Math.ceil(minimum));
  if (exclusiveMinimum !== undefined) lo = Math.max(lo, Math.floor(exclusiveMinimum) + 1);
  if (maximum !== undefined) hi = Math.min(hi, Math.floor(maximum));
  if (exclusiveMaximum !== undefined) hi = Math.min(hi, Math.ceil(exclusiveMaximum) - 1);
  const bounded = [minimum, maximum, exclusiveMinimum, exclusiveMaximum].some((v) => v !== undefined);
  if (lo > hi) throw new ConstraintError(path, 'no whole number lies within the bounds (minimum, maximum, exclusiveMinimum, exclusiveMaximum)');
  return { lo, hi, bounded };
}

function integerPattern(schema: { [key: string]: Json }, path: string): Pattern {
  const { lo, hi, bounded } = integerBounds(schema, path);
  return bounded ? integerRange(lo, hi) : UNBOUNDED_INTEGER;
}

/**
 * Numbers within the bounds: the whole numbers lo..hi, and a fraction after an integer part
 * i when every value it can make stays inside (i in lo..hi-1 for i >= 0: i.f < i + 1 <= hi;
 * i in lo+1..hi for i < 0: -|i|.f > i - 1 >= lo).
 */
function numberPattern(schema: { [key: string]: Json }, path: string): Pattern {
  const { lo, hi, bounded } = integerBounds(schema, path);
  if (!bounded) return ANY_NUMBER;
  const parts = [integerRange(lo, hi)];
  if (Math.max(lo, 0) <= hi - 1) parts.push(seq(naturalRange(Math.max(lo, 0), hi - 1), FRACTION));
  if (lo + 1 <= Math.min(hi, -1)) parts.push(seq(literal('-'), naturalRange(-Math.min(hi, -1), -(lo + 1)), FRACTION));
  return alt(...parts);
}

// ---- strings ----------------------------------------------------------------------------

const TWO_DIGITS = (lo: number, hi: number) => digitsRange(String(lo).padStart(2, '0'), String(hi).padStart(2, '0'));
/** A calendar date (29 February left out, so no year needs checking). */
const DATE = seq(
  repeat(DIGIT, 4, 4),
  literal('-'),
  alt(
    seq(alt(...['01', '03', '05', '07', '08', '10', '12'].map(literal)), literal('-'), TWO_DIGITS(1, 31)),
    seq(alt(...['04', '06', '09', '11'].map(literal)), literal('-'), TWO_DIGITS(1, 30)),
    seq(literal('02-'), TWO_DIGITS(1, 28)),
  ),
);
const TIME = seq(
  TWO_DIGITS(0, 23), literal(':'), TWO_DIGITS(0, 59), literal(':'), TWO_DIGITS(0, 59), optional(seq(literal('.'), repeat(DIGIT, 1, 6))),
  alt(literal('Z'), seq(chars([[0x2b, 0x2b], [0x2d, 0x2d]]), TWO_DIGITS(0, 23), literal(':'), TWO_DIGITS(0, 59))),
);
const LOWER_ALNUM = chars([[0x30, 0x39], [0x61, 0x7a]]);
const alnumRun = repeat(LOWER_ALNUM, 1, 32);
const FORMATS: Record<string, Pattern> = {
  date: DATE,
  time: TIME,
  'date-time': seq(DATE, literal('T'), TIME),
  uuid: seq(...[8, 4, 4, 4, 12].flatMap((n, i) => [...(i ? [literal('-')] : []), repeat(HEX, n, n)])),
  // Dot-separated alphanumeric runs on both sides: within every common email grammar.
  email: seq(alnumRun, repeat(seq(chars([[0x2b, 0x2b], [0x2d, 0x2e], [0x5f, 0x5f]]), alnumRun), 0, 4), literal('@'), alnumRun, repeat(seq(literal('-'), alnumRun), 0, 2), repeat(seq(literal('.'), alnumRun, repeat(seq(literal('-'), alnumRun), 0, 2)), 1, 3)),
};

/**
 * A pattern over characters as the content of a JSON string: every character JSON must escape
 * (quote, backslash, controls) becomes its escape sequence, the rest stay raw.
 */
function asStringContent(p: Pattern): Pattern {
  switch (p.kind) {
    case 'seq':
    case 'alt':
      return { kind: p.kind, items: p.items.map(asStringContent) };
    case 'repeat':
      return repeat(asStringContent(p.item), p.min, p.max);
    case 'chars': {
      const escapes: Pattern[] = [];
      for (const [lo, hi] of p.ranges) {
        for (let cp = lo; cp <= Math.min(hi, 0x5c); cp++) {
          if (cp < 0x20 || cp === 0x22 || cp === 0x5c) escapes.push(literal(JSON.stringify(String.fromCodePoint(cp)).slice(1, -1)));
        }
      }
      const raw = subtract(p.ranges, [[0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]]);
      return escapes.length === 0 ? p : alt(chars(raw), ...escapes);
    }
  }
}

function stringPattern(schema: { [key: string]: Json }, path: string): Pattern {
  const { pattern, format, minLength, maxLength } = schema;
  const lengths = minLength !== undefined || maxLength !== undefined;
  if (pattern !== undefined) {
    if (typeof pattern !== 'string') throw new ConstraintError(childPath(path, 'pattern'), 'pattern must be a string');
    if (lengths || format !== undefined) throw new ConstraintError(childPath(path, 'pattern'), 'pattern cannot be combined with minLength, maxLength or format');
    // JSON Schema patterns search: an unanchored end may have anything around it.
    const anything = repeat(STRING_CHAR, 0, Infinity);
    const branches = parseRegexBranches(pattern, childPath(path, 'pattern')).map((b) =>
      seq(b.anchoredStart ? EMPTY : anything, asStringContent(b.pattern), b.anchoredEnd ? EMPTY : anything),
    );
    return quoted(alt(...branches));
  }
  if (format !== undefined) {
    if (typeof format !== 'string' || !(format in FORMATS)) {
      throw new ConstraintError(childPath(path, 'format'), `format ${JSON.stringify(format)} is not supported (supported: ${Object.keys(FORMATS).join(', ')})`);
    }
    if (lengths) throw new ConstraintError(childPath(path, 'format'), 'format cannot be combined with minLength or maxLength');
    return quoted(FORMATS[format]);
  }
  const min = nonNegativeInteger(schema, 'minLength', path) ?? 0;
  const max = nonNegativeInteger(schema, 'maxLength', path) ?? Infinity;
  if (max < min) throw new ConstraintError(childPath(path, 'maxLength'), 'maxLength is below minLength');
  return quoted(repeat(STRING_CHAR, min, max));
}

function nonNegativeInteger(schema: { [key: string]: Json }, key: string, path: string): number | undefined {
  const value = schema[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ConstraintError(childPath(path, key), `${key} must be a non-negative integer`);
  return value;
}

// ---- the schema walk --------------------------------------------------------------------

/** Keywords that only annotate: they constrain nothing. */
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', '$comment', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);
const KEYWORDS_BY_TYPE: Record<string, string[]> = {
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  object: ['properties', 'required', 'additionalProperties'],
  array: ['items', 'minItems', 'maxItems', 'uniqueItems'],
  boolean: [],
  null: [],
};
const GENERAL = new Set(['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref']);
const SUPPORTED = new Set([...ANNOTATIONS, ...GENERAL, ...Object.values(KEYWORDS_BY_TYPE).flat()]);
const TYPES = Object.keys(KEYWORDS_BY_TYPE);

class SchemaCompiler {
  private readonly refDepth = new Map<string, number>();

  constructor(private readonly root: Schema) {}

  compile(schema: Schema, path: string): Pattern {
    if (schema === true) return anyValue(ANY_VALUE_DEPTH);
    if (schema === false) return NEVER;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new ConstraintError(path, 'a schema must be an object or a boolean');
    for (const key of Object.keys(schema)) {
      if (!SUPPORTED.has(key)) throw new ConstraintError(childPath(path, key), `the JSON Schema keyword ${key} is not supported`);
    }
    if (schema.uniqueItems === true) throw new ConstraintError(childPath(path, 'uniqueItems'), 'uniqueItems: true is not supported');
    if (schema.$ref !== undefined) return this.ref(schema, path);
    if (schema.allOf !== undefined) return this.allOf(schema, path);
    if (schema.anyOf !== undefined || schema.oneOf !== undefined) return this.union(schema, path);
    if (schema.const !== undefined) return this.values([schema.const], schema, path);
    if (schema.enum !== undefined) {
      if (!Array.isArray(schema.enum) || schema.enum.length === 0) throw new ConstraintError(childPath(path, 'enum'), 'enum must be a non-empty array');
      return this.values(schema.enum, schema, path);
    }
    return alt(...this.types(schema, path).map((type) => this.ofType(type, schema, path)));
  }

  /** The types a schema's values may have: its `type`, else those its keywords imply, else any. */
  private types(schema: { [key: string]: Json }, path: string): string[] {
    const declared = schema.type;
    if (declared !== undefined) {
      const list = Array.isArray(declared) ? declared : [declared];
      for (const type of list) {
        if (typeof type !== 'string' || !TYPES.includes(type)) throw new ConstraintError(childPath(path, 'type'), `type ${JSON.stringify(type)} is not a JSON Schema type`);
      }
      return list as string[];
    }
    const implied = TYPES.filter((type) => type !== 'integer' && KEYWORDS_BY_TYPE[type].some((key) => key in schema));
    return implied.length > 0 ? implied : ['any'];
  }

  private ofType(type: string, schema: { [key: string]: Json }, path: string): Pattern {
    switch (type) {
      case 'string': return stringPattern(schema, path);
      case 'number': return numberPattern(schema, path);
      case 'integer': return integerPattern(schema, path);
      case 'boolean': return alt(literal('true'), literal('false'));
      case 'null': return literal('null');
      case 'object': return this.object(schema, path);
      case 'array': return this.array(schema, path);
      default: return anyValue(ANY_VALUE_DEPTH);
    }
  }

  /** enum / const: each value as compact JSON, those the schema's type allows. */
  private values(values: Json[], schema: { [key: string]: Json }, path: string): Pattern {
    const types = schema.type === undefined ? null : [schema.type].flat();
    const fits = (v: Json) => {
      if (!types) return true;
      const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      return types.includes(kind) || (kind === 'number' && types.includes('integer') && Number.isInteger(v));
    };
    const kept = values.filter(fits);
    if (kept.length === 0) throw new ConstraintError(path, 'no enum or const value has the schema\'s type');
    return alt(...kept.map((v) => literal(JSON.stringify(v))));
  }

  private object(schema: { [key: string]: Json }, path: string): Pattern {
    const properties = schema.properties ?? {};
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) throw new ConstraintError(childPath(path, 'properties'), 'properties must be an object');
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw new ConstraintError(childPath(path, 'required'), 'required must be an array of names');
    const additional = schema.additionalProperties;
    if (additional !== undefined && typeof additional !== 'boolean' && (typeof additional !== 'object' || additional === null || Array.isArray(additional))) {
      throw new ConstraintError(childPath(path, 'additionalProperties'), 'additionalProperties must be a boolean or a schema');
    }
    const names = Object.keys(properties);
    // No declared properties and extra ones allowed: any object.
    if (names.length === 0 && required.length === 0 && additional !== false) return anyObject(ANY_VALUE_DEPTH);
    const entries: Array<{ pair: Pattern; required: boolean }> = names.map((name) => ({
      pair: seq(literal(JSON.stringify(name)), COLON, this.compile(properties[name] as Schema, childPath(childPath(path, 'properties'), name))),
      required: required.includes(name),
    }));
    for (const name of required as string[]) {
      if (names.includes(name)) continue;
      if (additional === false) throw new ConstraintError(childPath(path, 'required'), `required property ${name} is not declared and additionalProperties is false`);
      entries.push({ pair: seq(literal(JSON.stringify(name)), COLON, anyValue(ANY_VALUE_DEPTH)), required: true });
    }
    // After the first property written, every later one carries its comma; before it, an
    // optional property may be the first or be skipped.
    let rest: Pattern = EMPTY;
    const afterFirst: Pattern[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const withComma = seq(COMMA, entries[i].pair);
      afterFirst[i] = rest;
      rest = seq(entries[i].required ? withComma : optional(withComma), rest);
    }
    let first: Pattern = EMPTY;
    for (let i = entries.length - 1; i >= 0; i--) {
      const starting = seq(entries[i].pair, afterFirst[i]);
      first = entries[i].required ? starting : alt(starting, first);
    }
    return seq(literal('{'), first, literal('}'));
  }

  private array(schema: { [key: string]: Json }, path: string): Pattern {
    const items = schema.items;
    if (Array.isArray(items)) throw new ConstraintError(childPath(path, 'items'), 'items as an array (tuples) is not supported');
    const item = items === undefined ? anyValue(ANY_VALUE_DEPTH - 1) : this.compile(items as Schema, childPath(path, 'items'));
    const min = nonNegativeInteger(schema, 'minItems', path) ?? 0;
    const max = nonNegativeInteger(schema, 'maxItems', path) ?? Infinity;
    if (max < min) throw new ConstraintError(childPath(path, 'maxItems'), 'maxItems is below minItems');
    if (max === 0) return literal('[]');
    const list = seq(item, repeat(seq(COMMA, item), Math.max(min - 1, 0), max - 1));
    return seq(literal('['), min === 0 ? optional(list) : list, literal(']'));
  }

  private union(schema: { [key: string]: Json }, path: string): Pattern {
    const key = schema.anyOf !== undefined ? 'anyOf' : 'oneOf';
    if (schema.anyOf !== undefined && schema.oneOf !== undefined) throw new ConstraintError(path, 'anyOf and oneOf together are not supported');
    const options = schema[key];
    if (!Array.isArray(options) || options.length === 0) throw new ConstraintError(childPath(path, key), `${key} must be a non-empty array of schemas`);
    const others = Object.keys(schema).filter((k) => k !== key && !ANNOTATIONS.has(k));
    if (others.length > 0) throw new ConstraintError(childPath(path, others[0]), `${others[0]} beside ${key} is not supported (move it into each alternative)`);
    const patterns = options.map((option, i) => this.compile(option as Schema, childPath(childPath(path, key), i)));
    if (key === 'oneOf') checkDisjoint(patterns, childPath(path, key));
    return alt(...patterns);
  }

  private allOf(schema: { [key: string]: Json }, path: string): Pattern {
    const parts = schema.allOf;
    const others = Object.keys(schema).filter((k) => k !== 'allOf' && !ANNOTATIONS.has(k));
    if (!Array.isArray(parts) || parts.length !== 1 || others.length > 0) {
      throw new ConstraintError(childPath(path, 'allOf'), 'allOf is supported only with a single schema and nothing beside it');
    }
    return this.compile(parts[0] as Schema, childPath(childPath(path, 'allOf'), 0));
  }

  private ref(schema: { [key: string]: Json }, path: string): Pattern {
    const ref = schema.$ref;
    const others = Object.keys(schema).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
    if (others.length > 0) throw new ConstraintError(childPath(path, others[0]), `${others[0]} beside $ref is not supported`);
    if (typeof ref !== 'string' || !ref.startsWith('#')) throw new ConstraintError(childPath(path, '$ref'), '$ref must point into this schema (#/$defs/… or #/definitions/…)');
    let target: unknown = this.root;
    for (const part of ref.slice(1).split('/').filter(Boolean)) {
      const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
      target = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)[key] : undefined;
      if (target === undefined) throw new ConstraintError(childPath(path, '$ref'), `$ref ${ref} points at nothing`);
    }
    // Recursion is unrolled a few levels; deeper, the branch is not offered at all.
    const depth = this.refDepth.get(ref) ?? 0;
    if (depth >= MAX_REF_DEPTH) return NEVER;
    this.refDepth.set(ref, depth + 1);
    try {
      return this.compile(target as Schema, ref.slice(2).replaceAll('/', '.'));
    } finally {
      this.refDepth.set(ref, depth);
    }
  }
}

/** The pattern of JSON texts valid against `schema`; errors name the keyword under `path`. */
export function schemaPattern(schema: unknown, path = ''): Pattern {
  return new SchemaCompiler(schema as Schema).compile(schema as Schema, path);
}

/**
 * oneOf wants exactly one alternative to match: refused unless no text matches two of them,
 * found by walking every pair's product automaton (within a budget of state pairs).
 */
function checkDisjoint(patterns: Pattern[], path: string): void {
  const nfas = patterns.map((p, i) => compileNfa(p, childPath(path, i)));
  for (let i = 0; i < nfas.length; i++) {
    for (let j = i + 1; j < nfas.length; j++) {
      const overlap = intersects(nfas[i], nfas[j]);
      if (overlap === null) throw new ConstraintError(path, `oneOf alternatives ${i} and ${j} are too complex to prove disjoint; use anyOf if either may match`);
      if (overlap) throw new ConstraintError(path, `oneOf alternatives ${i} and ${j} can match the same value, which oneOf forbids; use anyOf`);
    }
  }
}

const PAIR_BUDGET = 20_000;

/** Whether some byte string is accepted by both; null when the budget ran out first. */
function intersects(a: Nfa, b: Nfa): boolean | null {
  const [sa, sb] = [simulator(a), simulator(b)];
  const key = (x: number[], y: number[]) => `${x.join(',')}|${y.join(',')}`;
  const start: [number[], number[]] = [sa.closure([a.start]), sb.closure([b.start])];
  const seen = new Set([key(...start)]);
  const queue = [start];
  while (queue.length > 0) {
    const [x, y] = queue.shift()!;
    if (x.includes(a.accept) && y.includes(b.accept)) return true;
    for (let byte = 0; byte < 256; byte++) {
      const nx = sa.step(x, byte);
      if (nx.length === 0) continue;
      const ny = sb.step(y, byte);
      if (ny.length === 0) continue;
      const k = key(nx, ny);
      if (seen.has(k)) continue;
      if (seen.size >= PAIR_BUDGET) return null;
      seen.add(k);
      queue.push([nx, ny]);
    }
  }
  return false;
}

/** Subset simulation of an NFA: epsilon closures and byte steps over sorted state lists. */
export function simulator(nfa: Nfa): { closure(states: number[]): number[]; step(states: number[], byte: number): number[] } {
  const eps: number[][] = Array.from({ length: nfa.states }, () => []);
  for (let i = 0; i < nfa.epsilons.length; i += 2) eps[nfa.epsilons[i]].push(nfa.epsilons[i + 1]);
  const moves: Array<Array<[number, number, number]>> = Array.from({ length: nfa.states }, () => []);
  for (let i = 0; i < nfa.transitions.length; i += 4) moves[nfa.transitions[i]].push([nfa.transitions[i + 1], nfa.transitions[i + 2], nfa.transitions[i + 3]]);
  const closure = (states: number[]) => {
    const seen = new Set(states);
    const stack = [...states];
    while (stack.length > 0) for (const r of eps[stack.pop()!]) if (!seen.has(r)) (seen.add(r), stack.push(r));
    return [...seen].sort((x, y) => x - y);
  };
  const step = (states: number[], byte: number) => {
    const next = new Set<number>();
    for (const q of states) for (const [lo, hi, to] of moves[q]) if (lo <= byte && byte <= hi) next.add(to);
    return next.size === 0 ? [] : closure([...next]);
  };
  return { closure, step };
}
