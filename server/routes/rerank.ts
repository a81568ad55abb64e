// POST /v1/rerank (also /rerank and /v2/rerank, as vLLM serves them): each document scored by a
// Qwen3-Reranker-style model in one batch of prefills; results by relevance, highest first.
import type { Context } from 'hono';
import { samplingParams } from '../../src/index.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { runGeneration } from '../generation/run.ts';
import { checkPromptLength, encodePrompt } from '../prompt/prompt-tokens.ts';
import { rerankRequestSchema } from '../protocol/rerank.ts';
import { answerTokens, DEFAULT_INSTRUCTION, relevance, rerankPrompt } from '../rerank/qwen3-reranker.ts';
import { checkModel, parseBody, useRequestId } from './shared.ts';

export async function rerank(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, rerankRequestSchema);
  if (c.var.config.task !== 'rerank') {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'this server does not rerank: start it with --task rerank and a reranker model', 'model');
  }
  const model = checkModel(c, body.model);
  const engine = c.var.engine;
  const { yes, no } = answerTokens(engine);
  const instruction = body.instruction ?? DEFAULT_INSTRUCTION;
  const texts = body.documents.map((d) => (typeof d === 'string' ? d : d.text));
  const prompts = texts.map((text, i) => {
    const tokens = encodePrompt(engine, rerankPrompt(instruction, body.query, text), false, `documents[${i}]`);
    checkPromptLength(engine, tokens, `documents[${i}]`);
    return { tokens };
  });
  const id = useRequestId(c, null, 'rerank');
  const scores: number[] = new Array(texts.length);
  let promptTokens = 0;
  const ticket = c.var.admission.enter();
  try {
    // One token each, greedy: what matters is the yes/no scores at the prompt's last position.
    const request = { sampling: samplingParams({ temperature: 0 }), maxTokens: 1, scoreTokenIds: [yes, no] };
    const plan = { engineId: c.var.internalId, prompts, request, choicesPerPrompt: 1 };
    for await (const { prompt, event } of runGeneration(engine, plan, AbortSignal.any([c.req.raw.signal, ticket.signal]))) {
      if (event.type === 'prompt') promptTokens += event.promptTokens;
      const scored = event.type === 'delta' ? event.tokens[0]?.scores : undefined;
      if (scored) scores[prompt] = relevance(scored[0]!.logprob, scored[1]!.logprob);
    }
  } finally {
    ticket.leave();
  }
  const results = scores
    .map((score, index) => ({ index, relevance_score: score, ...(body.return_documents !== false ? { document: { text: texts[index] } } : {}) }))
    .sort((a, b) => b.relevance_score - a.relevance_score)
    .slice(0, body.top_n ?? texts.length);
  return c.json({ id, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens }, results });
}
