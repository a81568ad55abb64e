// POST /tokenize and /detokenize (docs/API.md, beyond xLLM).
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { detokenizeRequestSchema, tokenizeRequestSchema } from '../protocol/tokenize.ts';
import { chatPromptText, checkTokenIds } from '../prompt/prompt-tokens.ts';
import { checkModel, parseBody } from './shared.ts';

export async function tokenize(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, tokenizeRequestSchema);
  checkModel(c, body.model);
  const engine = c.var.engine;
  const tokens = body.messages
    ? engine.tokenizer.encode(chatPromptText(engine, { ...body, messages: body.messages }), { addSpecialTokens: body.add_special_tokens ?? false })
    : engine.tokenizer.encode(body.prompt ?? '', { addSpecialTokens: body.add_special_tokens ?? true });
  return c.json({ tokens, count: tokens.length, max_model_len: engine.maxModelLen });
}

export async function detokenize(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, detokenizeRequestSchema);
  checkModel(c, body.model);
  checkTokenIds(c.var.engine, body.tokens, 'tokens');
  return c.json({ prompt: c.var.engine.tokenizer.decode(body.tokens, { skipSpecialTokens: false }) });
}
