// OpenAI's Responses wire format (docs/API.md "Responses"), built from the OpenAI-shaped chat
// answer the chat format makes: a response whose output holds a reasoning item (with a
// reasoning parser), a message with its output_text, and function_call items; and its stream
// of typed events, each with a sequence_number, from response.created to response.completed
// (response.incomplete when max_output_tokens cut it).
import type { ChatChoiceOut, ChatUsageOut } from './chat.ts';
import type { ResponseWire } from '../generation/serve.ts';
import type { OpenAiResponse } from '../generation/respond.ts';
import { typedEventProtocol } from '../sse.ts';
import { errorBody } from '../errors.ts';
import type { ResponsesRequest } from '../protocol/responses.ts';

/** What the answer holds so far: enough to write the response object at any point. */
interface Answer {
  reasoning: string | null;
  text: string | null;
  calls: Array<{ callId: string; name: string; arguments: string }>;
  finish: string | null;
  usage: ChatUsageOut | null;
}

export function responsesWire(meta: { id: string; model: string; created: number }, request: ResponsesRequest): ResponseWire {
  const messageId = `msg_${meta.id}`;
  const reasoningId = `rs_${meta.id}`;
  const callItemId = (i: number) => `fc_${i}_${meta.id}`;
  const reasoningItem = (answer: Answer, status: string) => ({
    type: 'reasoning',
    id: reasoningId,
    summary: [],
    content: [{ type: 'reasoning_text', text: answer.reasoning ?? '' }],
    status,
  });
  const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });
  const messageItem = (answer: Answer, status: string) => ({
    type: 'message',
    id: messageId,
    status,
    role: 'assistant',
    content: answer.text === null ? [] : [textPart(answer.text)],
  });
  const callItem = (call: Answer['calls'][number], i: number, status: string) => ({
    type: 'function_call',
    id: callItemId(i),
    call_id: call.callId,
    name: call.name,
    arguments: call.arguments,
    status,
  });
  /** The response object, in progress or finished. */
  const response = (answer: Answer, done: boolean) => {
    const incomplete = done && answer.finish === 'length';
    const output: object[] = [];
    if (answer.reasoning !== null) output.push(reasoningItem(answer, 'completed'));
    if (answer.text !== null) output.push(messageItem(answer, incomplete ? 'incomplete' : 'completed'));
    answer.calls.forEach((call, i) => output.push(callItem(call, i, 'completed')));
    const usage = answer.usage;
    return {
      id: meta.id,
      object: 'response',
      created_at: meta.created,
      status: !done ? 'in_progress' : incomplete ? 'incomplete' : 'completed',
      error: null,
      incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
      instructions: request.instructions ?? null,
      max_output_tokens: request.max_output_tokens ?? null,
      model: meta.model,
      output: done ? output : [],
      parallel_tool_calls: request.parallel_tool_calls ?? true,
      temperature: request.temperature ?? null,
      top_p: request.top_p ?? null,
      tool_choice: request.tool_choice ?? 'auto',
      tools: request.tools ?? [],
      text: { format: request.text?.format ?? { type: 'text' } },
      store: false,
      metadata: request.metadata ?? {},
      usage: usage && {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: { cached_tokens: usage.prompt_tokens_details.cached_tokens },
        output_tokens: usage.completion_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
      },
    };
  };

  return {
    body(openai: OpenAiResponse) {
      const choice = openai.choices[0] as ChatChoiceOut;
      const message = choice.message!;
      const calls = (message.tool_calls ?? []).map((c) => ({ callId: c.id!, name: c.function!.name!, arguments: c.function!.arguments! }));
      const text = message.content || calls.length === 0 ? (message.content ?? '') : null;
      return response({ reasoning: message.reasoning_content ?? null, text, calls, finish: choice.finish_reason, usage: openai.usage as ChatUsageOut }, true);
    },

    async *events(chunks) {
      let sequence = 0;
      const event = (type: string, fields: object) => ({ type, sequence_number: sequence++, ...fields });
      const answer: Answer = { reasoning: null, text: null, calls: [], finish: null, usage: null };
      // Output items in order; the one open takes the deltas of its kind.
      let items = 0;
      let open: { kind: 'reasoning' | 'message' | 'call'; index: number } | null = null;
      function* close() {
        if (!open) return;
        const { kind, index } = open;
        open = null;
        if (kind === 'reasoning') yield event('response.output_item.done', { output_index: index, item: reasoningItem(answer, 'completed') });
        else if (kind === 'message') {
          const text = answer.text ?? '';
          yield event('response.output_text.done', { item_id: messageId, output_index: index, content_index: 0, text, logprobs: [] });
          yield event('response.content_part.done', { item_id: messageId, output_index: index, content_index: 0, part: textPart(text) });
          yield event('response.output_item.done', { output_index: index, item: messageItem(answer, 'completed') });
        } else {
          const i = answer.calls.length - 1;
          const call = answer.calls[i]!;
          yield event('response.function_call_arguments.done', { item_id: callItemId(i), output_index: index, name: call.name, arguments: call.arguments });
          yield event('response.output_item.done', { output_index: index, item: callItem(call, i, 'completed') });
        }
      }
      yield event('response.created', { response: response(answer, false) });
      yield event('response.in_progress', { response: response(answer, false) });
      for await (const chunk of chunks as AsyncIterable<{ choices: ChatChoiceOut[]; usage?: ChatUsageOut }>) {
        if (chunk.usage) answer.usage = chunk.usage;
        for (const choice of chunk.choices) {
          const delta = choice.delta ?? {};
          if (delta.reasoning_content) {
            // Reasoning is sent whole when its item closes (no deltas of its own here).
            if (open?.kind !== 'reasoning') {
              yield* close();
              open = { kind: 'reasoning', index: items++ };
              answer.reasoning = '';
              yield event('response.output_item.added', { output_index: open.index, item: reasoningItem(answer, 'in_progress') });
            }
            answer.reasoning += delta.reasoning_content;
          }
          if (delta.content) {
            if (open?.kind !== 'message') {
              yield* close();
              open = { kind: 'message', index: items++ };
              answer.text = '';
              yield event('response.output_item.added', { output_index: open.index, item: messageItem(answer, 'in_progress') });
              yield event('response.content_part.added', { item_id: messageId, output_index: open.index, content_index: 0, part: textPart('') });
            }
            answer.text += delta.content;
            yield event('response.output_text.delta', { item_id: messageId, output_index: open.index, content_index: 0, delta: delta.content, logprobs: [] });
          }
          for (const call of delta.tool_calls ?? []) {
            // A call's first delta carries its id and name; later ones only more arguments.
            if (call.id) {
              yield* close();
              answer.calls.push({ callId: call.id, name: call.function?.name ?? '', arguments: '' });
              open = { kind: 'call', index: items++ };
              yield event('response.output_item.added', { output_index: open.index, item: callItem(answer.calls.at(-1)!, answer.calls.length - 1, 'in_progress') });
            }
            const args = call.function?.arguments;
            if (args && open?.kind === 'call') {
              answer.calls.at(-1)!.arguments += args;
              yield event('response.function_call_arguments.delta', { item_id: callItemId(answer.calls.length - 1), output_index: open.index, delta: args });
            }
          }
          answer.finish = choice.finish_reason ?? answer.finish;
        }
      }
      yield* close();
      const final = response(answer, true);
      yield event(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
    },

    // OpenAI's error event: the error's fields at the top level, beside its type.
    sse: typedEventProtocol((error) => ({ ...errorBody(error).error, type: 'error' })),
  };
}
