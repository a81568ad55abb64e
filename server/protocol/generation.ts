// Fields shared by /v1/chat/completions and /v1/completions, their cross-field checks, and the
// one place that maps them onto the engine's GenerationRequest (user value → server default →
// spec default).
import { z } from 'zod';
import { MAX_STOP_STRINGS, type GenerationRequest, type SamplingParams } from '../../src/index.ts';
import { structuredOutputFields, structuredOutput } from './structured-output.ts';
import { between, bool, intAtLeast, intBetween, orNull, requestIdField, requiredString, serviceRequestIdField, tokenIds } from './fields.ts';

/** Choices per request are bounded so one request cannot queue thousands of sequences. */
export const maxChoices = 128;

const stopString = z.string().min(1, 'stop strings must not be empty');

export const generationFields = {
  model: requiredString('model'),
  max_tokens: intAtLeast('max_tokens', 1).nullish(),
  temperature: between('temperature', 0, 2).nullish(),
  top_p: z
    .number({ error: 'top_p must be a number' })
    .gt(0, 'top_p must be greater than 0 and at most 1')
    .max(1, 'top_p must be greater than 0 and at most 1')
    .nullish(),
  top_k: z
    .int({ error: 'top_k must be an integer' })
    .refine((k) => k === -1 || k >= 1, 'top_k must be -1 (off) or at least 1')
    .nullish(),
  min_p: between('min_p', 0, 1).nullish(),
  presence_penalty: between('presence_penalty', -2, 2).nullish(),
  frequency_penalty: between('frequency_penalty', -2, 2).nullish(),
  repetition_penalty: z
    .number({ error: 'repetition_penalty must be a number' })
    .gt(0, 'repetition_penalty must be greater than 0')
    .nullish(),
  seed: z.int({ error: 'seed must be an integer' }).nullish(),
  stop: z
    .union([stopString, z.array(stopString)], { error: 'stop must be a string or an array of strings' })
    .refine((stop) => typeof stop === 'string' || stop.length <= MAX_STOP_STRINGS, `stop holds at most ${MAX_STOP_STRINGS} strings`)
    .nullish(),
  stop_token_ids: tokenIds('stop_token_ids').nullish(),
  ignore_eos: bool('ignore_eos').nullish(),
  include_stop_str_in_output: bool('include_stop_str_in_output').nullish(),
  skip_special_tokens: bool('skip_special_tokens').nullish(),
  n: intBetween('n', 1, maxChoices).nullish(),
  /** xLLM's name for the choices returned: n's synonym, or the beams returned with beam search. */
  num_return_sequences: intBetween('num_return_sequences', 1, maxChoices).nullish(),
  best_of: intBetween('best_of', 1, maxChoices).nullish(),
  stream: bool('stream').nullish(),
  stream_options: z
    .strictObject({ include_usage: bool('stream_options.include_usage').nullish() }, { error: 'stream_options must be an object' })
    .nullish(),
  beam_width: intBetween('beam_width', 1, maxChoices).nullish(),
  length_penalty: z.number({ error: 'length_penalty must be a number' }).nullish(),
  request_id: requestIdField,
  service_request_id: serviceRequestIdField,
  /** OpenAI's end-user id: metadata for the caller, with no effect on the output. */
  user: z.string({ error: 'user must be a string' }).nullish(),
  ...structuredOutputFields,
  add_special_tokens: bool('add_special_tokens').nullish(),
  logit_bias: z
    .record(z.string(), between('logit_bias values', -100, 100), { error: 'logit_bias must be an object of token id → bias' })
    .refine((bias) => Object.keys(bias).every((key) => /^\d+$/.test(key)), 'logit_bias keys must be token ids')
    .nullish(),
};

type GenerationFields = z.infer<z.ZodObject<typeof generationFields>>;

/** Cross-field rules shared by both endpoints; each issue names the field to fix. */
export function checkGeneration(body: GenerationFields, ctx: z.RefinementCtx): void {
  const n = body.n ?? body.num_return_sequences ?? 1;
  const beam = (body.beam_width ?? 1) > 1;
  const returned = body.num_return_sequences;
  if (returned != null && !beam && body.n != null && body.n !== returned) {
    ctx.addIssue({ code: 'custom', path: ['num_return_sequences'], message: `num_return_sequences (${returned}) and n (${body.n}) disagree` });
  }
  if (returned != null && beam && returned > body.beam_width!) {
    ctx.addIssue({ code: 'custom', path: ['num_return_sequences'], message: `num_return_sequences must be at most beam_width (${body.beam_width})` });
  }
  if (body.best_of != null && body.best_of < n) {
    ctx.addIssue({ code: 'custom', path: ['best_of'], message: `best_of must be at least n (${n})` });
  }
  if (beam && (body.n ?? 1) > 1) {
    ctx.addIssue({ code: 'custom', path: ['n'], message: 'n must be 1 with beam search: beam_width choices are returned (num_return_sequences picks fewer)' });
  }
  if (beam && (body.best_of ?? 1) > 1) {
    ctx.addIssue({ code: 'custom', path: ['best_of'], message: 'best_of cannot be combined with beam search (beam_width > 1)' });
  }
  if (!beam && body.length_penalty != null) {
    ctx.addIssue({ code: 'custom', path: ['length_penalty'], message: 'length_penalty applies only to beam search (beam_width > 1)' });
  }
  if (body.stream_options != null && body.stream !== true) {
    ctx.addIssue({ code: 'custom', path: ['stream_options'], message: 'stream_options is only allowed when stream is true' });
  }
}

/**
 * With beam search, the endpoint's logprobs field (chat `top_logprobs`, completions numeric
 * `logprobs`) sets the candidates per beam (docs/API.md "Beam search"), so 0 is refused there.
 */
export function checkBeamCandidates(body: GenerationFields, field: string, candidates: number | null | undefined, ctx: z.RefinementCtx): void {
  if ((body.beam_width ?? 1) > 1 && candidates === 0) {
    ctx.addIssue({ code: 'custom', path: [field], message: `${field} sets the beam candidates and must be at least 1` });
  }
}

/** What the endpoint decided about logprobs: top-N to return, and beam candidates. */
export interface LogprobChoice {
  /** Top logprobs per generated token; undefined = none. */
  logprobs?: number;
  /** Top logprobs per prompt token (completions echo). */
  promptLogprobs?: number;
  /** Beam candidates per beam when the endpoint's field set it. */
  beamCandidates?: number;
}

export function toGenerationRequest(
  body: GenerationFields,
  maxTokens: number | undefined,
  logprobs: LogprobChoice,
  defaults: Partial<SamplingParams>,
): Omit<GenerationRequest, 'requestId' | 'promptTokens'> {
  const width = body.beam_width ?? 1;
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const constraint = structuredOutput(body);
  return {
    sampling: toSamplingParams(body, defaults),
    maxTokens,
    stop: stop && stop.length > 0 ? stop : undefined,
    stopTokenIds: orNull(body.stop_token_ids),
    ignoreEos: orNull(body.ignore_eos),
    includeStopStrInOutput: orNull(body.include_stop_str_in_output),
    skipSpecialTokens: body.skip_special_tokens ?? true,
    // Beam search returns num_return_sequences beams (default: all of them); sampling returns n.
    n: width > 1 ? orNull(body.num_return_sequences) : (body.n ?? body.num_return_sequences ?? 1),
    bestOf: orNull(body.best_of),
    logprobs: logprobs.logprobs,
    promptLogprobs: logprobs.promptLogprobs,
    beam:
      width > 1
        ? { width, candidatesPerBeam: logprobs.beamCandidates ?? width, lengthPenalty: orNull(body.length_penalty) }
        : undefined,
    ...(constraint ? { constraint } : {}),
  };
}

function toSamplingParams(body: GenerationFields, defaults: Partial<SamplingParams>): SamplingParams {
  const bias = body.logit_bias ? Object.entries(body.logit_bias).map(([token, value]) => [Number(token), value] as const) : undefined;
  return {
    temperature: body.temperature ?? defaults.temperature ?? 1,
    topP: body.top_p ?? defaults.topP ?? 1,
    topK: body.top_k ?? defaults.topK ?? -1,
    minP: body.min_p ?? defaults.minP ?? 0,
    presencePenalty: body.presence_penalty ?? defaults.presencePenalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? defaults.frequencyPenalty ?? 0,
    repetitionPenalty: body.repetition_penalty ?? defaults.repetitionPenalty ?? 1,
    logitBias: bias ? new Map(bias) : (defaults.logitBias ?? new Map()),
    seed: body.seed ?? defaults.seed,
  };
}
