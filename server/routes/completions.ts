// POST /v1/completions: validate → tokenize each prompt → shared generation path.
import type { Context } from 'hono';
import type { InferenceEngine } from '../../src/index.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { completionFormat, type CompletionPrompt } from '../format/completion.ts';
import { choicesPerPrompt } from '../generation/run.ts';
import { serveGeneration } from '../generation/serve.ts';
import { completionGenerationRequest, completionRequestSchema, type CompletionRequest } from '../protocol/completions.ts';
import { tokenText } from '../format/logprobs.ts';
import { checkPromptLength, checkTokenIds, encodePrompt } from '../prompt/prompt-tokens.ts';
import { checkModel, nowSeconds, parseBody, useRequestId } from './shared.ts';

export async function completions(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, completionRequestSchema);
  const model = checkModel(c, body.model);
  if (c.var.config.backend !== 'llm') throw new ApiError(404, 'UNKNOWN', '/v1/completions is only available on the llm backend (the vlm backend serves chat only).');
  const engine = c.var.engine;
  const request = completionGenerationRequest(body, engine.samplingDefaults);
  const id = useRequestId(c, body.request_id ?? body.service_request_id, 'cmpl');
  return serveGeneration(c, () => {
    const prompts = tokenizePrompts(engine, body);
    prompts.forEach((prompt, p) => checkPromptLength(engine, prompt.tokens, prompts.length > 1 ? `prompt[${p}]` : 'prompt'));
    const perPrompt = choicesPerPrompt(request);
    return {
      plan: { engineId: c.var.internalId, prompts, request, choicesPerPrompt: perPrompt },
      format: completionFormat({
        prompts,
        choicesPerPrompt: perPrompt,
        echo: body.echo === true,
        logprobs: request.logprobs !== undefined,
        names: tokenText(engine),
      }),
      meta: { id, created: nowSeconds(), model },
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
    };
  });
}

function tokenizePrompts(engine: InferenceEngine, body: CompletionRequest): Array<CompletionPrompt & { tokens: number[] }> {
  const addSpecialTokens = body.add_special_tokens ?? true;
  const fromText = (text: string, param: string) => ({ tokens: encodePrompt(engine, text, addSpecialTokens, param), text });
  if (typeof body.prompt === 'string') return [fromText(body.prompt, 'prompt')];
  if (body.prompt.every((item) => typeof item === 'string')) return (body.prompt as string[]).map((text, p, all) => fromText(text, all.length > 1 ? `prompt[${p}]` : 'prompt'));
  const tokens = body.prompt as number[];
  checkTokenIds(engine, tokens, 'prompt');
  return [{ tokens, text: engine.tokenizer.decode(tokens, { skipSpecialTokens: false }) }];
}
