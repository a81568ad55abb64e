// Constrained decoding: what a request asks its output to be, compiled to an NFA (in
// TypeScript, at admission, where a constraint the engine cannot enforce exactly is refused)
// and run by the C engine against the vocabulary (automaton.ts, between forward passes).
import { alt, chars, literal, repeat, seq, type Pattern } from './ast.ts';
import { ConstraintError } from './errors.ts';
import { anyJsonObject, schemaPattern } from './json-schema.ts';
import { compileNfa, type Nfa } from './nfa.ts';
import { parseRegex } from './regex.ts';
import { toolCallsPattern, type ToolCallSyntax, type ToolSpec } from './tool-calls.ts';

export { ConstraintError } from './errors.ts';
export { Automaton, VocabularyTrie, type TokenSource } from './automaton.ts';
export type { Nfa } from './nfa.ts';
export type { ToolCallSyntax, ToolSpec } from './tool-calls.ts';

/** What the output must be. */
export type ConstraintSpec =
  /** A JSON text valid against the schema (draft 2020-12 subset; see json-schema.ts). */
  | { type: 'json_schema'; schema: unknown }
  /** Any JSON object. */
  | { type: 'json_object' }
  /** A full match of the regular expression. */
  | { type: 'regex'; pattern: string }
  /** Exactly one of the strings. */
  | { type: 'choice'; choices: string[] }
  /** Tool calls in the model's syntax: one, or one or more when parallel. */
  | { type: 'tool_calls'; syntax: ToolCallSyntax; tools: ToolSpec[]; parallel: boolean };

export interface CompiledConstraint {
  /** Equal specs have equal keys: the engine shares their automaton. */
  key: string;
  nfa: Nfa;
}

const BLANK = chars([[0x09, 0x0a], [0x0d, 0x0d], [0x20, 0x20]]);
const cache = new Map<string, CompiledConstraint>();
const CACHE_SIZE = 64;

/**
 * Compiles (or finds compiled) `spec`; a ConstraintError names what cannot be enforced. With
 * `leadingWhitespace`, a few blanks may come first (the output begins after reasoning, which
 * a model closes with a line break).
 */
export function compileConstraint(spec: ConstraintSpec, leadingWhitespace = false): CompiledConstraint {
  const key = JSON.stringify([spec, leadingWhitespace]);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit); // most recently used last
    return hit;
  }
  const pattern = specPattern(spec);
  const compiled = { key, nfa: compileNfa(leadingWhitespace ? seq(repeat(BLANK, 0, 8), pattern) : pattern, specPath(spec)) };
  cache.set(key, compiled);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return compiled;
}

function specPath(spec: ConstraintSpec): string {
  return { json_schema: 'schema', regex: 'pattern', choice: 'choices', tool_calls: 'tools', json_object: '' }[spec.type] ?? '';
}

function specPattern(spec: ConstraintSpec): Pattern {
  switch (spec.type) {
    case 'json_schema':
      return schemaPattern(spec.schema, 'schema');
    case 'json_object':
      return anyJsonObject();
    case 'regex':
      if (typeof spec.pattern !== 'string') throw new ConstraintError('pattern', 'pattern must be a string');
      return parseRegex(spec.pattern, 'pattern');
    case 'choice':
      if (!Array.isArray(spec.choices) || spec.choices.length === 0 || spec.choices.some((c) => typeof c !== 'string' || c === '')) {
        throw new ConstraintError('choices', 'choices must be a non-empty array of non-empty strings');
      }
      return alt(...spec.choices.map(literal));
    case 'tool_calls':
      if (!Array.isArray(spec.tools) || spec.tools.length === 0) throw new ConstraintError('tools', 'tools must be a non-empty array');
      return toolCallsPattern(spec.syntax, spec.tools, spec.parallel, 'tools');
    default:
      throw new ConstraintError('type', `constraint type ${JSON.stringify((spec as { type: unknown }).type)} is not one of json_schema, json_object, regex, choice`);
  }
}
