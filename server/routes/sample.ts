// POST /v1/sample (docs/API.md "/v1/sample"): top-k next-token logprobs at each selector match.
import type { Context } from 'hono';
import { MAX_SAMPLE_LOGPROBS, type SampleMatch } from '../../src/index.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { tokenText, type TokenText } from '../format/logprobs.ts';
import { sampleRequestSchema } from '../protocol/sample.ts';
import { checkModel, nowSeconds, parseBody, useRequestId } from './shared.ts';

export async function sample(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, sampleRequestSchema);
  const model = checkModel(c, body.model);
  if (c.var.config.backend !== 'llm') throw new ApiError(404, 'UNKNOWN', '/v1/sample is only available on the llm backend.');
  const id = useRequestId(c, body.request_id ?? body.service_request_id, 'sample');
  const engine = c.var.engine;
  const ticket = c.var.admission.enter();
  try {
    const result = await engine.sample({
      requestId: c.var.internalId,
      prompt: body.prompt,
      selector: body.selector.value,
      logprobs: body.logprobs ?? MAX_SAMPLE_LOGPROBS,
    });
    const choices = result.matches.map((match, index) => sampleChoice(match, index, tokenText(engine)));
    const withLogprobs = result.matches.filter((match) => match.top.length > 0).length;
    // docs/API.md: this endpoint logs only ids and counts, never the prompt. A match's
    // sample_id is its choice index (the xLLM page's definition).
    c.var.logger.info('sample', { request_id: id, match_count: result.matches.length, model });
    choices.forEach((choice) => c.var.logger.info('sample_match', { request_id: id, sample_id: choice.index, finish_reason: choice.finish_reason }));
    return c.json({
      id,
      object: 'sample_completion',
      created: nowSeconds(),
      model,
      choices,
      usage: { prompt_tokens: result.promptTokens, completion_tokens: withLogprobs, total_tokens: result.promptTokens + withLogprobs },
    });
  } finally {
    ticket.leave();
  }
}

function sampleChoice(match: SampleMatch, index: number, names: TokenText) {
  const tokens = match.top.map((top) => names.text(top.tokenId));
  return {
    index,
    text: tokens[0] ?? '',
    logprobs: { tokens, token_ids: match.top.map((top) => top.tokenId), token_logprobs: match.top.map((top) => top.logprob) },
    finish_reason: match.top.length > 0 ? 'selector_match' : 'empty_logprobs',
  };
}
