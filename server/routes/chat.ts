// POST /v1/chat/completions: validate → chat template → tokenize (vlm: with images) → shared
// generation path. /v1/messages (Anthropic's) comes through serveChat too.
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { chatFormat } from '../format/chat.ts';
import { choicesPerPrompt } from '../generation/run.ts';
import { serveGeneration, type ResponseWire } from '../generation/serve.ts';
import { imageChatPrompt } from '../prompt/image-chat-prompt.ts';
import { chatGenerationRequest, chatRequestSchema, toolChoiceOf, type ChatRequest } from '../protocol/chat.ts';
import { REASONING_PARSERS, TOOL_CALL_PARSERS } from '../tools/parsers.ts';
import { ApiError } from '../errors.ts';
import { tokenText } from '../format/logprobs.ts';
import { chatPromptTokens, checkPromptLength } from '../prompt/prompt-tokens.ts';
import { checkModel, nowSeconds, parseBody, useRequestId } from './shared.ts';

export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, chatRequestSchema);
  return serveChat(c, body, { id: useRequestId(c, body.request_id ?? body.service_request_id, 'chatcmpl') });
}

/**
 * A chat request, however it arrived (OpenAI's /v1/chat/completions, or another API mapped onto
 * its fields), through the one generation path; `wire` wraps the answer in the other API's shape.
 */
export async function serveChat(
  c: Context<AppEnv>,
  body: ChatRequest,
  options: { id: string; wire?: (promptTokens: number) => ResponseWire },
): Promise<Response> {
  const model = checkModel(c, body.model);
  const engine = c.var.engine;
  const config = c.var.config;
  const choice = toolChoiceOf(body);
  // The model sees the tools unless tool_choice is "none"; then its calls are not looked for either.
  const tools = choice === 'none' ? null : body.tools;
  const parserName = config.toolCallParser ?? engine.chatFormats.toolCallParser;
  const parser = parserName ? TOOL_CALL_PARSERS[parserName] : undefined;
  if (tools?.length && !parser) {
    throw new ApiError(400, 'INVALID_ARGUMENT', "this model's family has no tool-call format the server knows: start it with --tool-call-parser", 'tools');
  }
  const request = chatGenerationRequest(body, engine.samplingDefaults, { syntax: parser?.syntax, auto: config.enableAutoToolChoice });
  const reasoningName = config.reasoningParser === 'auto' ? engine.chatFormats.reasoningParser : config.reasoningParser;
  const reasoning = reasoningName ? (REASONING_PARSERS[reasoningName] ?? null) : null;
  // A constrained answer starts after the reasoning, unless the template was told to skip it.
  if (reasoning && request.constraint && body.chat_template_kwargs?.enable_thinking !== false) request.constraintAfter = reasoning.close;
  const split = {
    reasoning,
    tools: tools?.length && parser ? { parser, names: new Set(tools.map((t) => t.function.name)) } : null,
  };
  const vision = config.backend === 'vlm' ? engine.vision : null;
  return serveGeneration(c, async () => {
    const fields = { ...body, tools };
    const prompt = vision ? await imageChatPrompt(engine, vision, config, fields) : { tokens: chatPromptTokens(engine, fields) };
    checkPromptLength(engine, prompt.tokens, 'messages');
    return {
      plan: { engineId: c.var.internalId, prompts: [prompt], request, choicesPerPrompt: choicesPerPrompt(request) },
      format: chatFormat({ logprobs: request.logprobs !== undefined, names: tokenText(engine), split }),
      meta: { id: options.id, created: nowSeconds(), model },
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
      wire: options.wire?.(prompt.tokens.length),
    };
  });
}
