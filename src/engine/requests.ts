// A request inside the engine, from arrival to its last event. Its states read top to bottom:
// waiting (queued) → prefill (the prompt goes into the first sequence's slot, in chunks) →
// decode (every sequence steps together with all others) → done. /v1/sample and embedding
// requests end with their prefill.
import type { CompiledConstraint } from '../constraint/index.ts';
import { Channel } from './channel.ts';
import type { Sequence } from './sequence.ts';
import type { EmbeddingPooling, GenerationEvent, GenerationRequest, SampleMatch, TopLogprob } from './types.ts';
import type { VisionPrompt } from './vision-prompt.ts';

export enum Phase {
  Waiting,
  Prefill,
  Decode,
  Done,
}

interface RequestBase {
  readonly id: string;
  readonly promptTokens: number[];
  readonly arrival: number;
  phase: Phase;
  /** Slots owned, one per sequence; sequences[0]'s slot receives the prefill. */
  slots: number[];
  sequences: Sequence[];
  /** Prompt tokens whose KV came from the prefix cache. */
  cachedTokens: number;
  /** Prompt positions whose output row (logits; hidden states for embeddings) the prefill keeps, beyond the last one. */
  readonly rowsWanted: Set<number>;
  cancelled: boolean;
  /** A prompt with images on a vision-language model (M-RoPE positions, image embeddings). */
  readonly vision?: VisionPrompt;
}

export interface GenerateRequestState extends RequestBase {
  readonly kind: 'generate' | 'beam';
  readonly request: GenerationRequest;
  readonly channel: Channel<GenerationEvent>;
  /** Sequences to run: best_of (or n), or the beam width. */
  readonly width: number;
  readonly maxTokens: number;
  promptLogprobs: Array<{ tokenId: number; logprob: number; top: TopLogprob[] } | null>;
  firstTokenAt?: number;
  lastTokenAt?: number;
  /** Events held back until the end (best_of > n and beam search pick their choices last). */
  readonly buffered: boolean;
  /** The request's constraint, compiled at admission. */
  readonly constraint?: CompiledConstraint;
}

export interface SampleRequestState extends RequestBase {
  readonly kind: 'sample';
  readonly matchPositions: number[];
  readonly topN: number;
  readonly matches: Map<number, TopLogprob[]>;
  resolve(matches: SampleMatch[]): void;
  reject(error: Error): void;
}

export interface EmbedRequestState extends RequestBase {
  readonly kind: 'embed';
  readonly pooling: EmbeddingPooling;
  readonly normalize: boolean;
  /** Leading components kept. */
  readonly dimensions: number;
  /** The sum of the hidden-state rows so far ('mean'), or the last token's row ('last'), in float64. */
  readonly pooled: Float64Array;
  resolve(embedding: Float32Array): void;
  reject(error: Error): void;
}

/** Requests that end with their prefill: they answer through resolve/reject, not a channel. */
export type PrefillOnlyState = SampleRequestState | EmbedRequestState;

export type RequestState = GenerateRequestState | PrefillOnlyState;

export function isPrefillOnly(state: RequestState): state is PrefillOnlyState {
  return state.kind === 'sample' || state.kind === 'embed';
}
