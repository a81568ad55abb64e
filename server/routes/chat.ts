// POST /v1/chat/completions: validate → chat template → tokenize (vlm: with images) → shared
// generation path.
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { chatFormat } from '../format/chat.ts';
import { choicesPerPrompt } from '../generation/run.ts';
import { serveGeneration } from '../generation/serve.ts';
import { imageChatPrompt } from '../prompt/image-chat-prompt.ts';
import { chatGenerationRequest, chatRequestSchema } from '../protocol/chat.ts';
import { tokenText } from '../format/logprobs.ts';
import { chatPromptTokens, checkPromptLength } from '../prompt/prompt-tokens.ts';
import { checkModel, nowSeconds, parseBody, useRequestId } from './shared.ts';

export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, chatRequestSchema);
  const model = checkModel(c, body.model);
  const engine = c.var.engine;
  const request = chatGenerationRequest(body, engine.samplingDefaults);
  const vision = c.var.config.backend === 'vlm' ? engine.vision : null;
  const id = useRequestId(c, body.request_id ?? body.service_request_id, 'chatcmpl');
  return serveGeneration(c, async () => {
    const prompt = vision
      ? await imageChatPrompt(engine, vision, c.var.config, body)
      : { tokens: chatPromptTokens(engine, body) };
    checkPromptLength(engine, prompt.tokens, 'messages');
    return {
      plan: { engineId: c.var.internalId, prompts: [prompt], request, choicesPerPrompt: choicesPerPrompt(request) },
      format: chatFormat({ logprobs: request.logprobs !== undefined, names: tokenText(engine) }),
      meta: { id, created: nowSeconds(), model },
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
    };
  });
}
