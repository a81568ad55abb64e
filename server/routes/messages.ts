// POST /v1/messages: Anthropic's Messages API, mapped onto a chat request and answered through
// the chat path in Anthropic's shape. Its errors are Anthropic's too (app.ts).
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { messagesWire } from '../format/messages.ts';
import { inAnthropicTerms, messagesRequestSchema, toChatRequest } from '../protocol/messages.ts';
import { serveChat } from './chat.ts';
import { parseBody, useRequestId } from './shared.ts';

export async function messages(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, messagesRequestSchema);
  const id = useRequestId(c, null, 'msg');
  try {
    return await serveChat(c, toChatRequest(body), { id, wire: (promptTokens) => messagesWire({ id, model: body.model }, promptTokens) });
  } catch (error) {
    throw error instanceof ApiError ? inAnthropicTerms(error) : error;
  }
}
