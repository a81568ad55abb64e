// POST /v1/completions request schema (docs/API.md "Chat and completions requests").
import { z } from 'zod';
import { MAX_TOP_LOGPROBS, type GenerationRequest, type SamplingParams } from '../../src/index.ts';
import { bool, intBetween, orNull, tokenIds } from './fields.ts';
import { checkBeamCandidates, checkGeneration, generationFields, toGenerationRequest } from './generation.ts';

export const maxBatchPrompts = 64;

export const completionRequestSchema = z
  .strictObject({
    ...generationFields,
    prompt: z.union(
      [
        z.string(),
        tokenIds('prompt').min(1, 'prompt must not be empty'),
        z
          .array(z.string())
          .min(1, 'prompt must not be empty')
          .max(maxBatchPrompts, `prompt holds at most ${maxBatchPrompts} prompts`),
      ],
      { error: (issue) => (issue.input === undefined ? 'prompt is required' : 'prompt must be a string, an array of token ids or an array of strings') },
    ),
    logprobs: intBetween('logprobs', 0, MAX_TOP_LOGPROBS).nullish(),
    echo: bool('echo').nullish(),
  })
  .superRefine((body, ctx) => {
    checkGeneration(body, ctx);
    checkBeamCandidates(body, 'logprobs', body.logprobs, ctx);
  });

export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export function completionGenerationRequest(
  body: CompletionRequest,
  defaults: Partial<SamplingParams>,
): Omit<GenerationRequest, 'requestId' | 'promptTokens'> {
  const logprobs = orNull(body.logprobs);
  return toGenerationRequest(body, orNull(body.max_tokens), {
    logprobs,
    promptLogprobs: body.echo === true ? logprobs : undefined,
    beamCandidates: logprobs,
  }, defaults);
}
