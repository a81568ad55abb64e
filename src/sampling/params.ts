// Engine-level sampling parameters (no HTTP here) and their validation. The ranges are
// those of docs/API.md; errors name the wire parameter so the server can report `param`.

export interface SamplingParams {
  /** 0 (or below 1e-5) = greedy argmax, ties to the lower token id. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP: number;
  /** -1 or 0 = off, else ≥ 1. */
  topK: number;
  /** [0, 1]; 0 = off. */
  minP: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** > 0; 1 = off. */
  repetitionPenalty: number;
  /** Token id → bias added to its logit before temperature. */
  logitBias: ReadonlyMap<number, number>;
  /** Without a seed the request gets a random one. */
  seed?: number;
}

export const MAX_TOP_LOGPROBS = 20;
/** Stop strings per request at most (the stop matcher's capacity). */
export const MAX_STOP_STRINGS = 16;

export const DEFAULT_SAMPLING_PARAMS: Readonly<SamplingParams> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: -1,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: new Map<number, number>(),
});

/** A sampling parameter out of range; `param` is its API (snake_case) name. */
export class SamplingParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'SamplingParamError';
  }
}

function requireRange(param: string, value: number, ok: boolean, range: string): void {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok) {
    throw new SamplingParamError(param, `${param} must be ${range}, got ${value}`);
  }
}

/** Throws a SamplingParamError naming the first invalid parameter. */
export function validateSamplingParams(p: SamplingParams, vocabSize?: number): void {
  requireRange('temperature', p.temperature, p.temperature >= 0 && p.temperature <= 2, 'between 0 and 2');
  requireRange('top_p', p.topP, p.topP > 0 && p.topP <= 1, 'in (0, 1]');
  requireRange('top_k', p.topK, Number.isInteger(p.topK) && p.topK >= -1, '-1, 0 (off) or a positive integer');
  requireRange('min_p', p.minP, p.minP >= 0 && p.minP <= 1, 'between 0 and 1');
  requireRange('presence_penalty', p.presencePenalty, Math.abs(p.presencePenalty) <= 2, 'between -2 and 2');
  requireRange('frequency_penalty', p.frequencyPenalty, Math.abs(p.frequencyPenalty) <= 2, 'between -2 and 2');
  requireRange(
    'repetition_penalty',
    p.repetitionPenalty,
    p.repetitionPenalty > 0 && Number.isFinite(p.repetitionPenalty),
    'a finite number > 0',
  );
  if (p.seed !== undefined) requireRange('seed', p.seed, Number.isSafeInteger(p.seed), 'a safe integer');
  for (const [token, bias] of p.logitBias) {
    const inVocab = vocabSize === undefined || token < vocabSize;
    requireRange('logit_bias', token, Number.isInteger(token) && token >= 0 && inVocab, 'keyed by token ids in the vocabulary');
    requireRange('logit_bias', bias, bias >= -100 && bias <= 100, 'values between -100 and 100');
  }
}

/** Defaults filled in, then validated. */
export function samplingParams(partial: Partial<SamplingParams> = {}, vocabSize?: number): SamplingParams {
  const params: SamplingParams = { ...DEFAULT_SAMPLING_PARAMS, ...partial };
  validateSamplingParams(params, vocabSize);
  return params;
}
