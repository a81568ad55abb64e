// Shared set-up for the engine tests: the tiny model, its reference forward pass, and a
// way to run one request to its end.
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { EngineOptions, GenerationEvent, GenerationRequest } from '../../src/engine/types.ts';
import { samplingParams } from '../../src/sampling/params.ts';
import { DecoderReference } from '../reference/decoder.ts';

export const tinyDir = (): string => ensureModel('tiny', 'fp32');

let reference: DecoderReference | undefined;
export const tinyReference = (): DecoderReference => (reference ??= DecoderReference.load(ensureCheckpoint('tiny')));

export const loadTiny = (options: EngineOptions = {}): Promise<Engine> => Engine.load(tinyDir(), { threads: 1, ...options });

export function greedyRequest(id: string, promptTokens: number[], maxTokens: number, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  return { requestId: id, promptTokens, sampling: samplingParams({ temperature: 0 }), maxTokens, ignoreEos: true, ...extra };
}

export interface Collected {
  events: GenerationEvent[];
  /** Token ids per choice index. */
  tokens: number[][];
  text: string[];
  finish: string[];
}

export async function collect(events: AsyncIterable<GenerationEvent>): Promise<Collected> {
  const out: Collected = { events: [], tokens: [], text: [], finish: [] };
  for await (const event of events) {
    out.events.push(event);
    if (event.type === 'delta') {
      (out.tokens[event.index] ??= []).push(...event.tokens.map((t) => t.tokenId));
      out.text[event.index] = (out.text[event.index] ?? '') + event.text;
    } else if (event.type === 'finish') {
      out.finish[event.index] = event.reason;
      out.text[event.index] = (out.text[event.index] ?? '') + event.text;
    }
  }
  return out;
}

/** Deterministic pseudo-random token ids in a range the tiny model's vocabulary holds. */
export function randomTokens(seed: number, count: number): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 150000;
  });
}

export function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const log = Math.log(sum);
  return Float64Array.from(row, (v) => v - max - log);
}
