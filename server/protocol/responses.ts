// POST /v1/responses: OpenAI's Responses API, stateless (docs/API.md "Responses"). Checked with
// its own field names, then mapped onto a chat request, so that sampling, tools, structured
// output and images go through the one chat path and its checks.
import { z } from 'zod';
import { ApiError, renameParam } from '../errors.ts';
import { between, bool, intAtLeast } from './fields.ts';
import { parseAsChat, type ChatMessage, type ChatRequest } from './chat.ts';

const inputText = z.strictObject({ type: z.literal('input_text'), text: z.string({ error: 'text must be a string' }) });
const outputText = z.strictObject({ type: z.literal('output_text'), text: z.string({ error: 'text must be a string' }), annotations: z.array(z.unknown()).nullish() });
const inputImage = z.strictObject({
  type: z.literal('input_image'),
  image_url: z.string({ error: 'image_url must be a string (a URL or a data: URL)' }),
  detail: z.literal('auto', { error: 'detail: only "auto" is supported' }).nullish(),
});
const part = z.discriminatedUnion('type', [inputText, outputText, inputImage], { error: 'content parts are input_text, input_image or output_text' });

/** Fields an item carries when echoed back from an earlier response's output. */
const echoed = { id: z.string().nullish(), status: z.string().nullish() };

const messageItem = z.strictObject({
  type: z.literal('message').nullish(),
  role: z.enum(['user', 'assistant', 'system', 'developer'], { error: 'role must be user, assistant, system or developer' }),
  content: z.union([z.string(), z.array(part)], { error: 'content must be a string or an array of parts' }),
  ...echoed,
});
const functionCallItem = z.strictObject({
  type: z.literal('function_call'),
  call_id: z.string({ error: 'call_id must be a string' }),
  name: z.string({ error: 'name must be a string' }),
  arguments: z.string({ error: 'arguments must be a JSON string' }),
  ...echoed,
});
const functionOutputItem = z.strictObject({
  type: z.literal('function_call_output'),
  call_id: z.string({ error: 'call_id must be a string' }),
  output: z.string({ error: 'output must be a string' }),
  ...echoed,
});
const item = z.union([messageItem, functionCallItem, functionOutputItem], { error: 'input items are messages, function_call or function_call_output' });

const tool = z.strictObject({
  type: z.literal('function', { error: 'only function tools are served' }),
  name: z.string({ error: 'tools[].name must be a string' }),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown(), { error: 'parameters must be a JSON Schema object' }).nullish(),
  strict: z.boolean().nullish(),
});

const format = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('text') }),
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({
      type: z.literal('json_schema'),
      name: z.string({ error: 'text.format.name must be a string' }),
      schema: z.record(z.string(), z.unknown(), { error: 'text.format.schema must be a JSON Schema object' }),
      description: z.string().nullish(),
      strict: z.boolean().nullish(),
    }),
  ],
  { error: 'text.format.type must be text, json_object or json_schema' },
);

export const responsesRequestSchema = z.strictObject({
  model: z.string({ error: 'model must be a string' }).nullish(),
  input: z.union([z.string(), z.array(item)], { error: 'input must be a string or an array of input items' }),
  instructions: z.string({ error: 'instructions must be a string' }).nullish(),
  max_output_tokens: intAtLeast('max_output_tokens', 1).nullish(),
  temperature: between('temperature', 0, 2).nullish(),
  top_p: between('top_p', 0, 1).nullish(),
  tools: z.array(tool, { error: 'tools must be an array of function tools' }).nullish(),
  tool_choice: z
    .union([z.enum(['auto', 'none', 'required']), z.strictObject({ type: z.literal('function'), name: z.string() })], {
      error: 'tool_choice must be auto, none, required or {"type": "function", "name": …}',
    })
    .nullish(),
  parallel_tool_calls: bool('parallel_tool_calls').nullish(),
  text: z.strictObject({ format: format.nullish() }).nullish(),
  stream: bool('stream').nullish(),
  // Nothing is kept between requests: a response cannot be stored or continued.
  store: z.literal(false, { error: 'store: responses are not stored here; send store: false (or leave it out) and the whole conversation as input' }).nullish(),
  metadata: z.record(z.string(), z.string(), { error: 'metadata must be an object of strings' }).nullish(),
  user: z.string({ error: 'user must be a string' }).nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

function chatMessages(body: ResponsesRequest): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.instructions != null) out.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') return [...out, { role: 'user', content: body.input }];
  for (const entry of body.input) {
    if (entry.type === 'function_call') {
      const call = { id: entry.call_id, type: 'function' as const, function: { name: entry.name, arguments: entry.arguments } };
      const last = out.at(-1);
      // Calls made in one turn arrive as consecutive items: one assistant message holds them.
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else out.push({ role: 'assistant', content: '', tool_calls: [call] });
    } else if (entry.type === 'function_call_output') {
      out.push({ role: 'tool', tool_call_id: entry.call_id, content: entry.output });
    } else {
      const role = entry.role === 'developer' ? 'system' : entry.role;
      if (typeof entry.content === 'string') out.push({ role, content: entry.content });
      else if (role === 'user') {
        out.push({ role, content: entry.content.map((p) => (p.type === 'input_image' ? { type: 'image_url' as const, image_url: { url: p.image_url } } : { type: 'text' as const, text: p.text })) });
      } else {
        if (entry.content.some((p) => p.type === 'input_image')) throw new ApiError(400, 'INVALID_ARGUMENT', `a ${entry.role} message cannot hold images`, 'input');
        out.push({ role, content: entry.content.map((p) => ('text' in p ? p.text : '')).join('') });
      }
    }
  }
  return out;
}

/** A chat request's field path as the Responses request names it. */
function responsesParam(param: string): string {
  return param
    .replace(/^(max_tokens|max_completion_tokens)\b/, 'max_output_tokens')
    .replace(/^response_format\.json_schema\./, 'text.format.')
    .replace(/^response_format\b/, 'text.format')
    .replace(/^messages\b/, 'input')
    .replace(/^tool_choice\.function\./, 'tool_choice.')
    .replace(/^tools\[(\d+)\]\.function\./, 'tools[$1].');
}

/** An error about the chat request, restated in the Responses request's field names. */
export const inResponsesTerms = (error: ApiError): ApiError => renameParam(error, responsesParam);

export function toChatRequest(body: ResponsesRequest): ChatRequest {
  const choice = body.tool_choice;
  const fmt = body.text?.format;
  const chat = {
    model: body.model,
    messages: chatMessages(body),
    max_tokens: body.max_output_tokens,
    temperature: body.temperature,
    top_p: body.top_p,
    stream: body.stream,
    user: body.user,
    tools: body.tools?.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters, strict: t.strict } })),
    tool_choice: choice == null || typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } },
    parallel_tool_calls: body.parallel_tool_calls,
    response_format:
      fmt == null || fmt.type !== 'json_schema' ? fmt : { type: 'json_schema', json_schema: { name: fmt.name, schema: fmt.schema, description: fmt.description, strict: fmt.strict } },
  };
  return parseAsChat(chat, responsesParam);
}
