// Chat wire format (docs/API.md "Streaming", "Logprobs formats": chat).
import type { FinishReason, GeneratedToken, Usage } from '../../src/index.ts';
import type { ChoiceState, ResponseFormat } from './format.ts';
import { chatLogprobs, type TokenText } from './logprobs.ts';

export function chatFormat(options: { logprobs: boolean; names: TokenText }): ResponseFormat {
  const logprobsOf = (tokens: readonly GeneratedToken[]) =>
    options.logprobs ? { content: chatLogprobs(tokens, options.names) } : null;
  return {
    object: 'chat.completion',
    chunkObject: 'chat.completion.chunk',
    onPrompt() {},
    open: (index) => [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    delta(index, text, tokens) {
      if (text === '' && (!options.logprobs || tokens.length === 0)) return undefined;
      return { index, delta: { content: text }, logprobs: logprobsOf(tokens), finish_reason: null };
    },
    finish(index: number, reason: FinishReason, text: string) {
      const end = { index, delta: {}, logprobs: null, finish_reason: reason };
      return text === '' ? [end] : [{ index, delta: { content: text }, logprobs: null, finish_reason: null }, end];
    },
    choice: (index: number, state: ChoiceState) => ({
      index,
      message: { role: 'assistant', content: state.text },
      logprobs: logprobsOf(state.tokens),
      finish_reason: state.finishReason,
    }),
    usage: (usage: Usage) => ({
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    }),
  };
}
