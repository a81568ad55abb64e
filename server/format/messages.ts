// Anthropic's Messages wire format (docs/API.md "Anthropic messages"), built from the OpenAI-shaped
// chat answer the chat format makes: a message of content blocks (thinking, text, tool_use),
// and a stream of named events (message_start, content_block_start / _delta / _stop,
// message_delta with the stop reason and usage, message_stop). Errors in Anthropic's shape.
import type { ChatChoiceOut, ChatUsageOut } from './chat.ts';
import type { ResponseWire } from '../generation/serve.ts';
import type { OpenAiResponse } from '../generation/respond.ts';
import { typedEventProtocol } from '../sse.ts';
import type { ApiError } from '../errors.ts';

/** Anthropic's stop_reason and stop_sequence for a chat choice's finish_reason and stop string. */
function stopOf(finish: string | null, stop: string | null) {
  const reason = finish === 'length' ? 'max_tokens' : finish === 'tool_calls' ? 'tool_use' : stop !== null ? 'stop_sequence' : 'end_turn';
  return { stop_reason: reason, stop_sequence: stop };
}

/** Anthropic counts input tokens read from its cache apart from the rest. */
const usageOf = (usage: ChatUsageOut) => ({
  input_tokens: usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens,
  cache_read_input_tokens: usage.prompt_tokens_details.cached_tokens,
  cache_creation_input_tokens: 0,
  output_tokens: usage.completion_tokens,
});

const errorTypeOfStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};

/** Anthropic's errors have no `param`: the message names the field instead. */
export function anthropicErrorBody(error: ApiError): object {
  const message = error.param && !error.message.startsWith(error.param) ? `${error.param}: ${error.message}` : error.message;
  return { type: 'error', error: { type: errorTypeOfStatus[error.status] ?? 'api_error', message } };
}

/** @param inputTokens the prompt's length, for message_start (Anthropic reports it before any text). */
export function messagesWire(meta: { id: string; model: string }, inputTokens: number): ResponseWire {
  const envelope = { id: meta.id, type: 'message', role: 'assistant', model: meta.model };
  return {
    body(openai: OpenAiResponse) {
      const choice = openai.choices[0] as ChatChoiceOut;
      const message = choice.message!;
      const content: object[] = [];
      if (message.reasoning_content) content.push({ type: 'thinking', thinking: message.reasoning_content, signature: '' });
      if (message.content || !message.tool_calls?.length) content.push({ type: 'text', text: message.content ?? '' });
      for (const call of message.tool_calls ?? []) {
        content.push({ type: 'tool_use', id: call.id, name: call.function!.name, input: JSON.parse(call.function!.arguments!) });
      }
      return { ...envelope, content, ...stopOf(choice.finish_reason, choice.stop_reason ?? null), usage: usageOf(openai.usage as ChatUsageOut) };
    },

    async *events(chunks) {
      yield { type: 'message_start', message: { ...envelope, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 0 } } };
      // The content block being written; a delta of another kind closes it and opens the next.
      const block: { open: { kind: 'text' | 'thinking' | 'tool_use'; index: number } | null; count: number } = { open: null, count: 0 };
      let finish: string | null = null;
      let stop: string | null = null;
      let usage: ChatUsageOut | undefined;
      function* into(kind: 'text' | 'thinking' | 'tool_use', start: object | null) {
        if (block.open?.kind === kind && start === null) return block.open.index;
        if (block.open) yield { type: 'content_block_stop', index: block.open.index };
        block.open = { kind, index: block.count++ };
        yield { type: 'content_block_start', index: block.open.index, content_block: start };
        return block.open.index;
      }
      for await (const chunk of chunks as AsyncIterable<{ choices: ChatChoiceOut[]; usage?: ChatUsageOut }>) {
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          const delta = choice.delta ?? {};
          if (delta.reasoning_content) {
            const index = yield* into('thinking', block.open?.kind === 'thinking' ? null : { type: 'thinking', thinking: '', signature: '' });
            yield { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: delta.reasoning_content } };
          }
          if (delta.content) {
            const index = yield* into('text', block.open?.kind === 'text' ? null : { type: 'text', text: '' });
            yield { type: 'content_block_delta', index, delta: { type: 'text_delta', text: delta.content } };
          }
          for (const call of delta.tool_calls ?? []) {
            // A call's first delta carries its id and name; later ones only more arguments.
            const index = yield* into('tool_use', call.id ? { type: 'tool_use', id: call.id, name: call.function?.name, input: {} } : null);
            if (call.function?.arguments) yield { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: call.function.arguments } };
          }
          finish = choice.finish_reason ?? finish;
          stop = choice.stop_reason ?? stop;
        }
      }
      if (block.open) yield { type: 'content_block_stop', index: block.open.index };
      yield { type: 'message_delta', delta: stopOf(finish, stop), usage: { output_tokens: usage?.completion_tokens ?? 0 } };
      yield { type: 'message_stop' };
    },

    sse: typedEventProtocol(anthropicErrorBody),
  };
}
