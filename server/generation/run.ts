// One request, possibly a batch of prompts (completions), as one stream of engine events whose
// choice indices are numbered across the batch: prompt p owns [p·k, (p+1)·k).
import type { GenerationEvent, GenerationRequest, InferenceEngine, PreparedImage } from '../../src/index.ts';
import { mergeAsync } from './merge.ts';

export type TaggedEvent = { prompt: number; event: GenerationEvent };

export interface GenerationPlan {
  /** Engine-side id (unique per request); prompt p of a batch runs as `${engineId}-${p}`. */
  engineId: string;
  /** Token ids with image pads expanded, and the images (vlm chat) in pad order. */
  prompts: ReadonlyArray<{ tokens: number[]; images?: PreparedImage[] }>;
  request: Omit<GenerationRequest, 'requestId' | 'promptTokens'>;
  /** Choices each prompt yields: n (beam search: the beams returned, by default all). */
  choicesPerPrompt: number;
}

export function choicesPerPrompt(request: Omit<GenerationRequest, 'requestId' | 'promptTokens'>): number {
  return request.n ?? request.beam?.width ?? 1;
}

export function runGeneration(engine: InferenceEngine, plan: GenerationPlan, signal: AbortSignal): AsyncIterable<TaggedEvent> {
  const single = plan.prompts.length === 1;
  const streams = plan.prompts.map((prompt, p) =>
    tag(
      () =>
        engine.generate(
          {
            ...plan.request,
            requestId: single ? plan.engineId : `${plan.engineId}-${p}`,
            promptTokens: prompt.tokens,
            ...(prompt.images ? { images: prompt.images } : {}),
          },
          { signal },
        ),
      p,
      p * plan.choicesPerPrompt,
    ),
  );
  return single ? streams[0]! : mergeAsync(streams);
}

/** Starts the engine request on the first pull, so even its synchronous errors reach the reader. */
async function* tag(start: () => AsyncIterable<GenerationEvent>, prompt: number, indexBase: number): AsyncGenerator<TaggedEvent> {
  for await (const event of start()) {
    yield { prompt, event: 'index' in event ? { ...event, index: event.index + indexBase } : event };
  }
}
