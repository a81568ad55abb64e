// Completions wire format (docs/API.md "Streaming", "Logprobs formats": completions), with `echo`.
import type { GeneratedToken, Usage } from '../../src/index.ts';
import type { PromptEvent, ResponseFormat } from './format.ts';
import { appendCompletionLogprobs, emptyCompletionLogprobs, type CompletionLogprobs, type TokenText } from './logprobs.ts';

export interface CompletionPrompt {
  tokens: readonly number[];
  /** What `echo` puts in front of the completion. */
  text: string;
}

export function completionFormat(options: {
  prompts: readonly CompletionPrompt[];
  choicesPerPrompt: number;
  echo: boolean;
  logprobs: boolean;
  names: TokenText;
}): ResponseFormat {
  const promptEvents = new Map<number, PromptEvent>();
  /** Stream: where the next token of each choice starts in its text. */
  const offsets = new Map<number, number>();
  const promptOf = (index: number) => Math.floor(index / options.choicesPerPrompt);
  const echoText = (index: number) => (options.echo ? options.prompts[promptOf(index)]!.text : '');

  /** Echoed prompt logprobs of choice `index`, into a fresh set; returns the offset after them. */
  const startLogprobs = (index: number): [CompletionLogprobs, number] => {
    const logprobs = emptyCompletionLogprobs();
    const p = promptOf(index);
    const promptLogprobs = promptEvents.get(p)?.promptLogprobs;
    if (!options.echo || !promptLogprobs) return [logprobs, echoText(index).length];
    appendCompletionLogprobs(logprobs, promptLogprobs, options.prompts[p]!.tokens, 0, options.names);
    return [logprobs, echoText(index).length];
  };
  const tokenLogprobs = (index: number, tokens: readonly GeneratedToken[], text: string) => {
    if (!options.logprobs) return null; // offsets only place logprobs
    const at = offsets.get(index) ?? echoText(index).length;
    offsets.set(index, at + text.length);
    const logprobs = emptyCompletionLogprobs();
    appendCompletionLogprobs(logprobs, tokens, [], at, options.names);
    return logprobs;
  };

  return {
    object: 'text_completion',
    chunkObject: 'text_completion',
    onPrompt(prompt, event) {
      promptEvents.set(prompt, event);
    },
    open(index) {
      if (!options.echo) return [];
      const [logprobs] = startLogprobs(index);
      return [{ index, text: echoText(index), logprobs: options.logprobs ? logprobs : null, finish_reason: null }];
    },
    delta(index, text, tokens) {
      if (text === '' && (!options.logprobs || tokens.length === 0)) return [];
      return [{ index, text, logprobs: tokenLogprobs(index, tokens, text), finish_reason: null }];
    },
    finish: (index, reason, text, stop) => [{ index, text, logprobs: null, finish_reason: reason, stop_reason: stop }],
    choice(index, state) {
      let logprobs: CompletionLogprobs | null = null;
      if (options.logprobs) {
        const [collected, offset] = startLogprobs(index);
        appendCompletionLogprobs(collected, state.tokens, [], offset, options.names);
        logprobs = collected;
      }
      return { index, text: echoText(index) + state.text, logprobs, finish_reason: state.finishReason, stop_reason: state.stop };
    },
    usage: (usage: Usage) => ({
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
    }),
  };
}
