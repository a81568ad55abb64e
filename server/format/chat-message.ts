// A chat answer split into its parts as the text streams in: reasoning (`<think>…</think>`,
// with a reasoning parser), tool calls (blocks in the model's tool-call syntax, with tools on
// the request), and the content around them. The complete response runs the same splitter over
// the whole text, so a stream's parts reassemble into exactly the non-streamed message.
//
// Text that could still turn into a marker is held back until it does or cannot. With either
// parser on, content is trimmed (whitespace at its start, after the reasoning, between calls
// and at its end is not content); without, it is the text as written.
import type { ToolCallParser } from '../tools/parsers.ts';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One piece of the message, in the order the model wrote it. */
export type MessagePart = { content: string } | { reasoning: string } | { toolCall: ToolCall };

export interface SplitOptions {
  /** Reasoning markers, or null without a reasoning parser. */
  reasoning: { open: string; close: string } | null;
  /** Tool calls to recognise (tool_choice not "none"), or null. */
  tools: { parser: ToolCallParser; names: ReadonlySet<string> } | null;
}

/** The length of the longest suffix of `text` that is a proper prefix of `marker`. */
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) if (marker.startsWith(text.slice(-n))) return n;
  return 0;
}

export class MessageSplitter {
  /** Where the splitter is: deciding whether the answer opens with reasoning, in it, in content, in a call. */
  private phase: 'start' | 'reasoning' | 'content' | 'call';
  private held = '';
  /** Whitespace of the content held back until more content follows. */
  private blank = '';
  private contentStarted = false;
  private calls = 0;

  constructor(private readonly options: SplitOptions) {
    this.phase = options.reasoning ? 'start' : 'content';
  }

  get toolCalls(): number {
    return this.calls;
  }

  push(text: string): MessagePart[] {
    this.held += text;
    const parts: MessagePart[] = [];
    for (let progressed = true; progressed; ) progressed = this.advance(parts, false);
    return parts;
  }

  /** The end of the text: what was held back, as what it is now known to be. */
  end(): MessagePart[] {
    const parts: MessagePart[] = [];
    for (let progressed = true; progressed; ) progressed = this.advance(parts, true);
    if (this.held !== '') this.emitContent(this.phase === 'reasoning' ? '' : this.held, parts, this.phase === 'reasoning' ? this.held : '');
    this.held = '';
    return parts;
  }

  /** One move of the state machine over the held text; false when it must wait for more. */
  private advance(parts: MessagePart[], final: boolean): boolean {
    const { reasoning, tools } = this.options;
    switch (this.phase) {
      case 'start': {
        // An answer opens its reasoning, or closes it at once when the prompt opened it.
        const { open, close } = reasoning!;
        if (this.held.startsWith(open) || this.held.startsWith(close)) {
          const opened = this.held.startsWith(open);
          this.held = this.held.slice(opened ? open.length : close.length);
          this.phase = opened ? 'reasoning' : 'content';
          return true;
        }
        if (!final && (open.startsWith(this.held) || close.startsWith(this.held))) return false;
        this.phase = 'content';
        return true;
      }
      case 'reasoning': {
        const close = reasoning!.close;
        const at = this.held.indexOf(close);
        if (at >= 0) {
          if (at > 0) parts.push({ reasoning: this.held.slice(0, at) });
          this.held = this.held.slice(at + close.length);
          this.phase = 'content';
          return true;
        }
        const keep = final ? 0 : partialSuffix(this.held, close);
        const out = this.held.slice(0, this.held.length - keep);
        if (out !== '') parts.push({ reasoning: out });
        this.held = this.held.slice(out.length);
        return false;
      }
      case 'content': {
        if (tools) {
          const at = this.held.indexOf(tools.parser.open);
          if (at >= 0) {
            this.emitContent(this.held.slice(0, at), parts);
            this.held = this.held.slice(at);
            this.phase = 'call';
            return true;
          }
        }
        const keep = final || !tools ? 0 : partialSuffix(this.held, tools.parser.open);
        this.emitContent(this.held.slice(0, this.held.length - keep), parts);
        this.held = this.held.slice(this.held.length - keep);
        return false;
      }
      case 'call': {
        const { parser, names } = tools!;
        const end = this.held.indexOf(parser.close);
        if (end < 0) return false; // an unfinished call is content at the end (end() emits it)
        const block = this.held.slice(0, end + parser.close.length);
        this.held = this.held.slice(block.length);
        this.phase = 'content';
        const call = parser.parse(block, names);
        if (call) {
          this.calls++;
          this.blank = ''; // whitespace before a call is not content
          parts.push({ toolCall: call });
        } else {
          this.emitContent(block, parts);
        }
        return true;
      }
    }
  }

  /** Content, trimmed: leading whitespace dropped, inner whitespace released when more follows. */
  private emitContent(text: string, parts: MessagePart[], reasoningText = ''): void {
    if (reasoningText !== '') parts.push({ reasoning: reasoningText });
    if (text === '') return;
    if (!this.options.reasoning && !this.options.tools) {
      parts.push({ content: text });
      return;
    }
    let value = this.blank + text;
    if (!this.contentStarted) value = value.trimStart();
    const trailing = value.length - value.trimEnd().length;
    this.blank = value.slice(value.length - trailing);
    value = value.slice(0, value.length - trailing);
    if (value === '') return;
    this.contentStarted = true;
    parts.push({ content: value });
  }
}

/** The whole message of a finished text. */
export function splitMessage(text: string, options: SplitOptions): { content: string | null; reasoning: string | null; toolCalls: ToolCall[] } {
  const splitter = new MessageSplitter(options);
  const parts = [...splitter.push(text), ...splitter.end()];
  const content = parts.flatMap((p) => ('content' in p ? [p.content] : [])).join('');
  const reasoning = parts.flatMap((p) => ('reasoning' in p ? [p.reasoning] : [])).join('');
  return {
    content: content === '' ? null : content,
    reasoning: options.reasoning && reasoning !== '' ? reasoning : null,
    toolCalls: parts.flatMap((p) => ('toolCall' in p ? [p.toolCall] : [])),
  };
}
