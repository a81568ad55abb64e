// POST /v1/responses: OpenAI's Responses API, stateless: mapped onto a chat request and answered
// through the chat path in the Responses shape.
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { responsesWire } from '../format/responses.ts';
import { inResponsesTerms, responsesRequestSchema, toChatRequest } from '../protocol/responses.ts';
import { serveChat } from './chat.ts';
import { checkModel, nowSeconds, parseBody, useRequestId } from './shared.ts';

export async function responses(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, responsesRequestSchema);
  const id = useRequestId(c, null, 'resp');
  const meta = { id, model: checkModel(c, body.model), created: nowSeconds() };
  try {
    return await serveChat(c, toChatRequest(body), { id, wire: () => responsesWire(meta, body) });
  } catch (error) {
    throw error instanceof ApiError ? inResponsesTerms(error) : error;
  }
}
