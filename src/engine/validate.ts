// Every field of a request is checked here, before the request is admitted, so that nothing a
// caller passes can make a forward pass or a sampling step fail for the other requests in the
// batch. Library callers get the same protection as HTTP clients: an INVALID_ARGUMENT
// EngineError whose `param` is the API (snake_case) name of the field, which the server
// reports as a 400.
import { compileConstraint, ConstraintError, type CompiledConstraint } from '../constraint/index.ts';
import { MAX_CANDIDATES_PER_BEAM } from '../sampling/beam.ts';
import { MAX_STOP_STRINGS, MAX_TOP_LOGPROBS, SamplingParamError, validateSamplingParams } from '../sampling/params.ts';
import { EngineError } from './errors.ts';
import type { EmbedRequest, EmbeddingInfo, GenerationRequest, SampleRequest } from './types.ts';

/** /v1/sample reports at most this many top logprobs per match (docs/API.md "/v1/sample"). */
export const MAX_SAMPLE_LOGPROBS = 5;

export interface RequestLimits {
  /** Rows of the model's logits: token ids must be below it. */
  vocabSize: number;
  /** Tokens per sequence, prompt + output. */
  maxModelLen: number;
  /** Sequences the engine runs at once. */
  slots: number;
}

function invalid(param: string, message: string): EngineError {
  return new EngineError('INVALID_ARGUMENT', message, param);
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function checkInt(param: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!isIntIn(value, min, max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer between ${min} and ${max}`;
    throw invalid(param, `${param} must be ${range}, got ${String(value)}`);
  }
}

function checkOptionalInt(param: string, value: unknown, min: number, max?: number): void {
  if (value !== undefined) checkInt(param, value, min, max);
}

/** Token ids the model has logits for; `param` names the list. */
export function checkTokenIds(param: string, ids: unknown, vocabSize: number): void {
  if (!Array.isArray(ids)) throw invalid(param, `${param} must be an array of token ids`);
  for (let i = 0; i < ids.length; i++) {
    if (!isIntIn(ids[i], 0, vocabSize - 1)) {
      throw invalid(param, `${param}[${i}]: token id ${String(ids[i])} is outside the vocabulary (0..${vocabSize - 1})`);
    }
  }
}

export function checkGenerationRequest(request: GenerationRequest, limits: RequestLimits): void {
  if (typeof request !== 'object' || request === null) throw invalid('request', 'the request must be an object');
  if (typeof request.requestId !== 'string') throw invalid('request_id', 'request_id must be a string');
  const prompt = request.promptTokens;
  checkTokenIds('prompt', prompt, limits.vocabSize);
  if (prompt.length === 0) throw invalid('prompt', 'the prompt is empty');
  if (prompt.length >= limits.maxModelLen) {
    throw invalid(
      'prompt',
      `the prompt has ${prompt.length} tokens; this model's maximum context length is ${limits.maxModelLen} (prompt plus at least one generated token)`,
    );
  }
  checkSampling(request, limits.vocabSize);
  checkOptionalInt('max_tokens', request.maxTokens, 1);
  checkStop(request.stop);
  if (request.stopTokenIds !== undefined) checkTokenIds('stop_token_ids', request.stopTokenIds, limits.vocabSize);
  for (const flag of ['ignoreEos', 'includeStopStrInOutput', 'skipSpecialTokens'] as const) {
    const value = request[flag];
    if (value !== undefined && typeof value !== 'boolean') throw invalid(snakeCase(flag), `${snakeCase(flag)} must be a boolean`);
  }
  checkOptionalInt('logprobs', request.logprobs, 0, MAX_TOP_LOGPROBS);
  checkOptionalInt('prompt_logprobs', request.promptLogprobs, 0, MAX_TOP_LOGPROBS);
  if (request.scoreTokenIds !== undefined) {
    checkTokenIds('score_token_ids', request.scoreTokenIds, limits.vocabSize);
    if (request.beam) throw invalid('score_token_ids', 'score_token_ids cannot be combined with beam search');
  }
  checkOptionalInt('n', request.n, 1);
  checkOptionalInt('best_of', request.bestOf, 1);
  if (request.images !== undefined && !Array.isArray(request.images)) throw invalid('images', 'images must be an array');
  if (request.beam) checkBeam(request, limits.slots);
  else checkChoices(request, limits.slots);
}

/** The request's constraint compiled; errors name the keyword as `constraint.<path>`. */
export function checkConstraint(request: GenerationRequest): CompiledConstraint | undefined {
  if (request.constraint === undefined) return undefined;
  if (typeof request.constraint !== 'object' || request.constraint === null) throw invalid('constraint', 'constraint must be an object');
  if (request.ignoreEos) throw invalid('ignore_eos', 'ignore_eos cannot be combined with a constraint: the output ends when the constraint is complete');
  const after = request.constraintAfter;
  if (after !== undefined && (typeof after !== 'string' || after === '')) throw invalid('constraint_after', 'constraintAfter must be a non-empty string');
  try {
    return compileConstraint(request.constraint, after !== undefined);
  } catch (error) {
    if (error instanceof ConstraintError) throw invalid(error.path ? `constraint.${error.path}` : 'constraint', error.message);
    throw error;
  }
}

export function checkSampleRequest(request: SampleRequest): void {
  if (typeof request !== 'object' || request === null) throw invalid('request', 'the request must be an object');
  if (typeof request.requestId !== 'string') throw invalid('request_id', 'request_id must be a string');
  if (typeof request.prompt !== 'string' || request.prompt.length === 0) throw invalid('prompt', 'prompt is required');
  if (typeof request.selector !== 'string' || request.selector.length === 0) throw invalid('selector.value', 'selector.value is required');
  if (!isIntIn(request.logprobs, 1, MAX_SAMPLE_LOGPROBS)) {
    throw invalid('logprobs', `logprobs must be between 1 and ${MAX_SAMPLE_LOGPROBS}`);
  }
}

function checkSampling(request: GenerationRequest, vocabSize: number): void {
  const sampling = request.sampling;
  if (typeof sampling !== 'object' || sampling === null) throw invalid('sampling', 'sampling parameters are required');
  if (!(sampling.logitBias instanceof Map)) throw invalid('logit_bias', 'logit_bias must be a Map of token id → bias');
  try {
    validateSamplingParams(sampling, vocabSize);
  } catch (error) {
    if (error instanceof SamplingParamError) throw invalid(error.param, error.message);
    throw error;
  }
}

function checkStop(stop: unknown): void {
  if (stop === undefined) return;
  if (!Array.isArray(stop)) throw invalid('stop', 'stop must be an array of strings');
  if (stop.length > MAX_STOP_STRINGS) throw invalid('stop', `stop holds at most ${MAX_STOP_STRINGS} strings, got ${stop.length}`);
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) throw invalid('stop', `stop[${i}] must be a non-empty string`);
  });
}

/** Sampling: best_of (or n) sequences run, each in its own slot, and n of them are returned. */
function checkChoices(request: GenerationRequest, slots: number): void {
  const n = request.n ?? 1;
  const width = request.bestOf ?? n;
  if (width < n) throw invalid('best_of', `best_of must be at least n (${n}), got ${width}`);
  if (width > slots) {
    const param = request.bestOf !== undefined ? 'best_of' : 'n';
    throw invalid(param, `${param} is ${width}; this server runs at most ${slots} sequences at once`);
  }
}

/** Beam search: `width` beams run, and `n` of them (default: all) are returned, best first. */
function checkBeam(request: GenerationRequest, slots: number): void {
  const beam = request.beam!;
  checkInt('beam_width', beam.width, 1);
  checkInt('beam_candidates', beam.candidatesPerBeam, 1, MAX_CANDIDATES_PER_BEAM);
  if (beam.lengthPenalty !== undefined && !Number.isFinite(beam.lengthPenalty)) {
    throw invalid('length_penalty', `length_penalty must be a finite number, got ${beam.lengthPenalty}`);
  }
  if (beam.width > slots) throw invalid('beam_width', `beam_width is ${beam.width}; this server runs at most ${slots} sequences at once`);
  if ((request.bestOf ?? 1) > 1) throw invalid('best_of', 'best_of cannot be combined with beam search');
  if (request.n !== undefined && request.n > beam.width) {
    throw invalid('n', `n (num_return_sequences) is ${request.n}; beam search returns at most beam_width (${beam.width}) beams`);
  }
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function checkEmbedRequest(request: EmbedRequest, limits: RequestLimits, embedding: EmbeddingInfo): void {
  if (typeof request !== 'object' || request === null) throw invalid('request', 'the request must be an object');
  if (typeof request.requestId !== 'string') throw invalid('request_id', 'request_id must be a string');
  const tokens = request.promptTokens;
  checkTokenIds('input', tokens, limits.vocabSize);
  if (tokens.length === 0) throw invalid('input', 'the input is empty');
  if (tokens.length > limits.maxModelLen) {
    throw invalid('input', `the input has ${tokens.length} tokens; this model's maximum context length is ${limits.maxModelLen}`);
  }
  if (request.pooling !== undefined && request.pooling !== 'last' && request.pooling !== 'mean') {
    throw invalid('pooling', `pooling must be "last" or "mean", got ${String(request.pooling)}`);
  }
  if (request.normalize !== undefined && typeof request.normalize !== 'boolean') throw invalid('normalize', 'normalize must be a boolean');
  checkOptionalInt('dimensions', request.dimensions, 1, embedding.size);
}
