// A request inside the engine, from arrival to its last event. Its states read top to bottom:
// waiting (queued) → prefill (the prompt goes into the first sequence's slot, in chunks) →
// decode (every sequence steps together with all others) → done.
import type { CompiledConstraint } from '../constraint/index.ts';
import { Channel } from './channel.ts';
import type { Sequence } from './sequence.ts';
import type { GenerationEvent, GenerationRequest, SampleMatch, TopLogprob } from './types.ts';
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
  /** Positions whose logits the prefill must keep (beyond the last one). */
  readonly logitsWanted: Set<number>;
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

export type RequestState = GenerateRequestState | SampleRequestState;
