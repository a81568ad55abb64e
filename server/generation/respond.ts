// Streaming and non-streaming answers read the same tagged event stream: `collect` accumulates
// it into one response body, `chunks` turns it into SSE chunk objects.
import type { Usage } from '../../src/index.ts';
import type { ChoiceState, ResponseFormat } from '../format/format.ts';
import type { TaggedEvent } from './run.ts';

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

function addUsage(total: Usage, usage: Usage): void {
  total.promptTokens += usage.promptTokens;
  total.completionTokens += usage.completionTokens;
  total.cachedTokens += usage.cachedTokens;
}

/** A complete answer in OpenAI's shape; a choice's fields are the format's. */
export interface OpenAiResponse {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: object[];
  usage: object;
}

export async function collect(events: AsyncIterable<TaggedEvent>, format: ResponseFormat, meta: ResponseMeta): Promise<OpenAiResponse> {
  const choices = new Map<number, ChoiceState>();
  const usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  const stateOf = (index: number) => {
    let state = choices.get(index);
    if (!state) choices.set(index, (state = { text: '', tokens: [], finishReason: null, stop: null }));
    return state;
  };
  for await (const { prompt, event } of events) {
    if (event.type === 'prompt') format.onPrompt(prompt, event);
    else if (event.type === 'delta') {
      const state = stateOf(event.index);
      state.text += event.text;
      state.tokens.push(...event.tokens);
    } else if (event.type === 'finish') {
      const state = stateOf(event.index);
      state.text += event.text;
      state.finishReason = event.reason;
      state.stop = event.stop ?? null;
    } else addUsage(usage, event.usage);
  }
  return {
    id: meta.id,
    object: format.object,
    created: meta.created,
    model: meta.model,
    choices: [...choices.entries()].sort(([a], [b]) => a - b).map(([index, state]) => format.choice(index, state)),
    usage: format.usage(usage),
  };
}

export async function* chunks(
  events: AsyncIterable<TaggedEvent>,
  format: ResponseFormat,
  meta: ResponseMeta,
  includeUsage: boolean,
): AsyncGenerator<object> {
  const opened = new Set<number>();
  const usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  const chunk = (choices: object[]) => ({ id: meta.id, object: format.chunkObject, created: meta.created, model: meta.model, choices });
  const open = (index: number) => {
    if (opened.has(index)) return [];
    opened.add(index);
    return format.open(index);
  };
  for await (const { prompt, event } of events) {
    if (event.type === 'prompt') format.onPrompt(prompt, event);
    else if (event.type === 'usage') addUsage(usage, event.usage);
    else if (event.type === 'delta') {
      for (const part of [...open(event.index), ...format.delta(event.index, event.text, event.tokens)]) yield chunk([part]);
    } else {
      for (const part of [...open(event.index), ...format.finish(event.index, event.reason, event.text, event.stop ?? null)]) yield chunk([part]);
    }
  }
  if (includeUsage) yield { ...chunk([]), usage: format.usage(usage) };
}
