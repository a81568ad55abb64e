// Tool calls as a model writes them, compiled to a pattern: each call is a JSON object
// {"name": <one of the tools>, "<arguments key>": <that tool's parameters>} between the
// format's start and end markers (Qwen / Hermes: "<tool_call>\n" and "\n</tool_call>"), one
// call or, when parallel, one or more separated by the format's separator.
import { alt, literal, optional, repeat, seq, type Pattern } from './ast.ts';
import { childPath } from './errors.ts';
import { schemaPattern } from './json-schema.ts';

/** How a model family writes a tool call. */
export interface ToolCallSyntax {
  start: string;
  end: string;
  /** Between two calls. */
  separator: string;
  /** The member holding the arguments object ("arguments" for Qwen). */
  argumentsKey: string;
}

export interface ToolSpec {
  name: string;
  /** JSON Schema of the arguments (absent: any object). */
  parameters?: unknown;
}

const SPACE = optional(literal(' '));

export function toolCallsPattern(syntax: ToolCallSyntax, tools: readonly ToolSpec[], parallel: boolean, path: string): Pattern {
  const calls = tools.map((tool, i) => {
    const parameters = tool.parameters ?? { type: 'object' };
    return seq(
      literal('{"name":'), SPACE, literal(JSON.stringify(tool.name)), literal(','), SPACE,
      literal(`${JSON.stringify(syntax.argumentsKey)}:`), SPACE, schemaPattern(parameters, childPath(childPath(path, i), 'parameters')),
      literal('}'),
    );
  });
  const block = seq(literal(syntax.start), alt(...calls), literal(syntax.end));
  return parallel ? seq(block, repeat(seq(literal(syntax.separator), block), 0, Infinity)) : block;
}
