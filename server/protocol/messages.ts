// POST /v1/messages: Anthropic's Messages API (docs/API.md "Anthropic messages"). The body is
// checked with Anthropic's field names, then mapped onto a chat request, so that sampling,
// tools, images and the prompt go through the one chat path and its checks.
import { z } from 'zod';
import { ApiError, renameParam } from '../errors.ts';
import { between, bool, intAtLeast, requiredString } from './fields.ts';
import { parseAsChat, type ChatMessage, type ChatRequest } from './chat.ts';

/** Prompt-caching hints: the prefix cache caches every prompt anyway, so they are taken as met. */
const cacheControl = z.strictObject({ type: z.literal('ephemeral', { error: 'cache_control.type must be ephemeral' }), ttl: z.enum(['5m', '1h']).nullish() }).nullish();

const textBlock = z.strictObject({ type: z.literal('text'), text: z.string({ error: 'text must be a string' }), cache_control: cacheControl });
const imageBlock = z.strictObject({
  type: z.literal('image'),
  source: z.discriminatedUnion(
    'type',
    [
      z.strictObject({
        type: z.literal('base64'),
        media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp'], { error: 'media_type must be image/jpeg, image/png, image/gif or image/webp' }),
        data: z.string({ error: 'data must be a base64 string' }),
      }),
      z.strictObject({ type: z.literal('url'), url: z.string({ error: 'url must be a string' }) }),
    ],
    { error: 'source must be {"type":"base64","media_type","data"} or {"type":"url","url"}' },
  ),
  cache_control: cacheControl,
});
const toolUseBlock = z.strictObject({
  type: z.literal('tool_use'),
  id: z.string({ error: 'id must be a string' }),
  name: z.string({ error: 'name must be a string' }),
  input: z.record(z.string(), z.unknown(), { error: 'input must be an object' }),
  cache_control: cacheControl,
});
const toolResultBlock = z.strictObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string({ error: 'tool_use_id must be a string' }),
  content: z.union([z.string(), z.array(textBlock, { error: 'a tool result holds text blocks' })]).nullish(),
  is_error: bool('is_error').nullish(),
  cache_control: cacheControl,
});
const thinkingBlock = z.strictObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().nullish() });
const block = z.discriminatedUnion('type', [textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock], {
  error: 'content blocks are text, image, tool_use, tool_result or thinking',
});

const message = z.strictObject({
  role: z.enum(['user', 'assistant'], { error: 'role must be user or assistant' }),
  content: z.union([z.string(), z.array(block)], { error: 'content must be a string or an array of content blocks' }),
});

const tool = z.strictObject({
  name: z.string({ error: 'tools[].name must be a string' }),
  description: z.string().nullish(),
  input_schema: z.record(z.string(), z.unknown(), { error: 'input_schema must be a JSON Schema object' }),
  type: z.literal('custom', { error: 'only custom (client) tools are served' }).nullish(),
  cache_control: cacheControl,
});
const parallel = { disable_parallel_tool_use: bool('disable_parallel_tool_use').nullish() };
const toolChoice = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('auto'), ...parallel }),
    z.strictObject({ type: z.literal('any'), ...parallel }),
    z.strictObject({ type: z.literal('tool'), name: z.string({ error: 'tool_choice.name must be a string' }), ...parallel }),
    z.strictObject({ type: z.literal('none') }),
  ],
  { error: 'tool_choice must be {"type": "auto" | "any" | "tool" | "none"}' },
);

export const messagesRequestSchema = z.strictObject({
  model: requiredString('model'),
  cache_control: cacheControl,
  max_tokens: intAtLeast('max_tokens', 1),
  messages: z.array(message, { error: 'messages must be an array of messages' }).min(1, 'messages must not be empty'),
  system: z.union([z.string(), z.array(textBlock)], { error: 'system must be a string or an array of text blocks' }).nullish(),
  temperature: between('temperature', 0, 1).nullish(),
  top_p: between('top_p', 0, 1).nullish(),
  top_k: intAtLeast('top_k', 1).nullish(),
  stop_sequences: z.array(z.string().min(1, 'stop_sequences entries must not be empty'), { error: 'stop_sequences must be an array of strings' }).nullish(),
  stream: bool('stream').nullish(),
  // Anthropic's end-user id, for abuse tracking on their side: nothing here reads or logs it.
  metadata: z.strictObject({ user_id: z.string({ error: 'metadata.user_id must be a string' }).nullish() }).nullish(),
  tools: z.array(tool, { error: 'tools must be an array of tools' }).nullish(),
  tool_choice: toolChoice.nullish(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

const textOf = (blocks: string | Array<{ text: string }>) => (typeof blocks === 'string' ? blocks : blocks.map((b) => b.text).join(''));

/** The chat messages of an Anthropic conversation: tool results become tool messages, tool_use blocks calls. */
function chatMessages(body: MessagesRequest): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.system != null) out.push({ role: 'system', content: textOf(body.system) });
  for (const msg of body.messages) {
    if (typeof msg.content === 'string') {
      out.push({ role: msg.role, content: msg.content });
      continue;
    }
    if (msg.role === 'assistant') {
      let text = '';
      let reasoning: string | undefined;
      const calls: NonNullable<ChatMessage['tool_calls']> = [];
      for (const b of msg.content) {
        if (b.type === 'text') text += b.text;
        else if (b.type === 'thinking') reasoning = (reasoning ?? '') + b.thinking;
        else if (b.type === 'tool_use') calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
        else throw new ApiError(400, 'INVALID_ARGUMENT', `an assistant message cannot hold ${b.type} blocks`, 'messages');
      }
      out.push({ role: 'assistant', content: text, ...(calls.length ? { tool_calls: calls } : {}), ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}) });
      continue;
    }
    // A user turn: tool results (as tool messages) and text/image parts, in their order.
    let parts: Exclude<ChatMessage['content'], string | null | undefined> = [];
    const flush = () => {
      if (parts.length) out.push({ role: 'user', content: parts });
      parts = [];
    };
    for (const b of msg.content) {
      if (b.type === 'text') parts.push({ type: 'text', text: b.text });
      else if (b.type === 'image') {
        const url = b.source.type === 'base64' ? `data:${b.source.media_type};base64,${b.source.data}` : b.source.url;
        parts.push({ type: 'image_url', image_url: { url } });
      } else if (b.type === 'tool_result') {
        flush();
        const content = b.content == null ? '' : textOf(b.content);
        out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error ? `Error: ${content}` : content });
      } else throw new ApiError(400, 'INVALID_ARGUMENT', `a user message cannot hold ${b.type} blocks`, 'messages');
    }
    flush();
  }
  return out;
}

/** A chat request's field path as the Anthropic request names it (tools[0].function.parameters → tools[0].input_schema). */
export function anthropicParam(param: string): string {
  return param
    .replace(/^stop\b/, 'stop_sequences')
    .replace(/^parallel_tool_calls\b/, 'tool_choice.disable_parallel_tool_use')
    .replace(/^tool_choice\.function\./, 'tool_choice.')
    .replace(/^tools\[(\d+)\]\.function\.parameters/, 'tools[$1].input_schema')
    .replace(/^tools\[(\d+)\]\.function\./, 'tools[$1].');
}

/** An error about the chat request, restated in the Anthropic request's field names. */
export const inAnthropicTerms = (error: ApiError): ApiError => renameParam(error, anthropicParam);

/** The chat request an Anthropic request asks for, checked by the chat schema as any other. */
export function toChatRequest(body: MessagesRequest): ChatRequest {
  const choice = body.tool_choice;
  const chat = {
    model: body.model,
    messages: chatMessages(body),
    max_tokens: body.max_tokens,
    temperature: body.temperature,
    top_p: body.top_p,
    top_k: body.top_k,
    stop: body.stop_sequences,
    stream: body.stream,
    tools: body.tools?.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })),
    tool_choice:
      choice == null ? undefined : choice.type === 'any' ? 'required' : choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type,
    parallel_tool_calls: choice && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use ? false : undefined,
  };
  return parseAsChat(chat, anthropicParam);
}
