// The workloads every peer runs, so the figures compare like with like.

/** Prompt of the TTFT/prefill measurement; its decode continues from there (as llama.cpp's tool does). */
export const LONG_PROMPT_TOKENS = 512;
/** Tokens generated after the long prompt: the batch-1 decode measurement. */
export const DECODE_TOKENS = 64;
/** The long-context measurement's prompt: decode speed at this much context, and its prefill beside a running stream. */
export const LONG_CONTEXT_TOKENS = 4096;
/** The concurrent-streams measurement: each request's prompt and output length. */
export const STREAM_PROMPT_TOKENS = 32;
export const STREAM_TOKENS = 32;
export const STREAM_COUNTS = [1, 4, 16] as const;
export const THREADS = 2;

/** Deterministic, distinct prompts of ordinary vocabulary ids (no special tokens). */
export function promptTokens(length: number, variant: number): number[] {
  return Array.from({ length }, (_, i) => 1000 + ((i * 7919 + variant * 104729) % 100_000));
}

export interface SingleStream {
  /** Prompt tokens / seconds until the first generated token. */
  prefillTokS: number;
  ttftMs: number;
  /** Tokens after the first / seconds between the first and the last. */
  decodeTokS: number;
}

export function singleStream(promptLength: number, submittedAt: number, tokenTimes: number[]): SingleStream {
  const first = tokenTimes[0]!;
  const last = tokenTimes.at(-1)!;
  return {
    ttftMs: first - submittedAt,
    prefillTokS: promptLength / ((first - submittedAt) / 1000),
    decodeTokS: (tokenTimes.length - 1) / ((last - first) / 1000),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
