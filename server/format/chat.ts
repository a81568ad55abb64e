// Chat wire format (docs/API.md "Streaming", "Logprobs formats": chat, "Tool calling",
// "Reasoning"): the message's content, and with a reasoning parser its `reasoning_content`,
// with tools its `tool_calls` (finish_reason "tool_calls" when the model called one).
import type { FinishReason, GeneratedToken, Usage } from '../../src/index.ts';
import { MessageSplitter, splitMessage, type MessagePart, type SplitOptions } from './chat-message.ts';
import type { ChoiceState, ResponseFormat } from './format.ts';
import { chatLogprobs, type TokenText } from './logprobs.ts';

/** The shapes chatFormat writes, as the wires of other APIs (format/messages.ts, format/responses.ts) read them. */
export interface ChatToolCallOut {
  id?: string;
  function?: { name?: string; arguments?: string };
}
export interface ChatChoiceOut {
  message?: { content: string | null; reasoning_content?: string; tool_calls?: ChatToolCallOut[] };
  delta?: { content?: string; reasoning_content?: string; tool_calls?: ChatToolCallOut[] };
  finish_reason: string | null;
  stop_reason?: string | null;
}
export interface ChatUsageOut {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function chatFormat(options: { logprobs: boolean; names: TokenText; split: SplitOptions }): ResponseFormat {
  const logprobsOf = (tokens: readonly GeneratedToken[]) =>
    options.logprobs ? { content: chatLogprobs(tokens, options.names) } : null;
  const splitters = new Map<number, MessageSplitter>();
  const splitterOf = (index: number) => {
    let splitter = splitters.get(index);
    if (!splitter) splitters.set(index, (splitter = new MessageSplitter(options.split)));
    return splitter;
  };
  /** One stream delta per part; tool calls are numbered per choice as OpenAI does. */
  const deltas = (index: number, parts: MessagePart[], splitter: MessageSplitter) => {
    let call = splitter.toolCalls - parts.filter((p) => 'toolCall' in p).length;
    return parts.map((part) => {
      if ('content' in part) return { content: part.content };
      if ('reasoning' in part) return { reasoning_content: part.reasoning };
      return { tool_calls: [{ index: call++, ...part.toolCall }] };
    });
  };
  const finishReason = (reason: FinishReason | null, toolCalls: number) => (reason === 'stop' && toolCalls > 0 ? 'tool_calls' : reason);
  return {
    object: 'chat.completion',
    chunkObject: 'chat.completion.chunk',
    onPrompt() {},
    open: (index) => [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    delta(index, text, tokens) {
      const splitter = splitterOf(index);
      const parts = deltas(index, splitter.push(text), splitter);
      const logprobs = options.logprobs && tokens.length > 0 ? logprobsOf(tokens) : null;
      if (parts.length === 0) return logprobs ? [{ index, delta: { content: '' }, logprobs, finish_reason: null }] : [];
      return parts.map((delta, i) => ({ index, delta, logprobs: i === 0 ? logprobs : null, finish_reason: null }));
    },
    finish(index: number, reason: FinishReason, text: string, stop: string | null) {
      const splitter = splitterOf(index);
      const parts = deltas(index, [...splitter.push(text), ...splitter.end()], splitter);
      const end = { index, delta: {}, logprobs: null, finish_reason: finishReason(reason, splitter.toolCalls), stop_reason: stop };
      return [...parts.map((delta) => ({ index, delta, logprobs: null, finish_reason: null })), end];
    },
    choice: (index: number, state: ChoiceState) => {
      const message = splitMessage(state.text, options.split);
      return {
        index,
        message: {
          role: 'assistant',
          content: message.content ?? (message.toolCalls.length > 0 ? null : ''),
          ...(message.reasoning !== null ? { reasoning_content: message.reasoning } : {}),
          ...(message.toolCalls.length > 0 ? { tool_calls: message.toolCalls } : {}),
        },
        logprobs: logprobsOf(state.tokens),
        finish_reason: finishReason(state.finishReason, message.toolCalls.length),
        stop_reason: state.stop,
      };
    },
    usage: (usage: Usage) => ({
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    }),
  };
}
