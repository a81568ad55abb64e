// Tool-call syntaxes, one entry per model family (`--tool-call-parser NAME`): how calls are
// written, so that tool_choice "required" / a named function can be enforced by a constraint,
// and how to read them back out of the text when the model chooses (tool_choice "auto").
// A new family joins the table with its markers and its JSON shape.
import { randomUUID } from 'node:crypto';
import type { ToolCallSyntax } from '../../src/index.ts';
import type { ToolCall } from '../format/chat-message.ts';

export interface ToolCallParser {
  /** How calls are generated when they are required. */
  syntax: ToolCallSyntax;
  /** Markers a block of text opens and closes with. */
  open: string;
  close: string;
  /** The call in a complete block (markers included), or null when it is not a call of a known tool. */
  parse(block: string, names: ReadonlySet<string>): ToolCall | null;
}

export function toolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** JSON `{"name": …, "<argumentsKey>": {…}}` between two markers (Hermes' format). */
function jsonBlocks(open: string, close: string, argumentsKey: string): ToolCallParser {
  return {
    syntax: { start: `${open}\n`, end: `\n${close}`, separator: '\n', argumentsKey },
    open,
    close,
    parse(block, names) {
      let call: unknown;
      try {
        call = JSON.parse(block.slice(open.length, block.length - close.length));
      } catch {
        return null;
      }
      if (typeof call !== 'object' || call === null) return null;
      const { name, [argumentsKey]: args } = call as Record<string, unknown>;
      if (typeof name !== 'string' || !names.has(name)) return null;
      const parsed = typeof args === 'string' ? safeParse(args) : args;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
      return { id: toolCallId(), type: 'function', function: { name, arguments: JSON.stringify(parsed) } };
    },
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const TOOL_CALL_PARSERS: Record<string, ToolCallParser> = {
  // Qwen2.5, Qwen3 and other Hermes-style templates.
  qwen: jsonBlocks('<tool_call>', '</tool_call>', 'arguments'),
  hermes: jsonBlocks('<tool_call>', '</tool_call>', 'arguments'),
};

/** Reasoning markers by `--reasoning-parser NAME`. */
export const REASONING_PARSERS: Record<string, { open: string; close: string }> = {
  qwen3: { open: '<think>', close: '</think>' },
  deepseek_r1: { open: '<think>', close: '</think>' },
};
