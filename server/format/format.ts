// The contract between the shared generation path and the two wire formats (chat and
// completions): the path feeds engine events in, a format turns them into choice objects.
import type { FinishReason, GeneratedToken, GenerationEvent, Usage } from '../../src/index.ts';

export interface ChoiceState {
  text: string;
  tokens: GeneratedToken[];
  finishReason: FinishReason | null;
  /** The stop string that ended the choice (vLLM's `stop_reason`), else null. */
  stop: string | null;
}

export type PromptEvent = Extract<GenerationEvent, { type: 'prompt' }>;

export interface ResponseFormat {
  /** `object` of the complete response and of each stream chunk. */
  readonly object: string;
  readonly chunkObject: string;
  /** Prompt `prompt` (of a batch) was admitted. */
  onPrompt(prompt: number, event: PromptEvent): void;
  /** Stream: choice parts sent before the first text of choice `index`. */
  open(index: number): object[];
  /** Stream: the parts that carry new text and tokens of choice `index` (none when there is nothing to send). */
  delta(index: number, text: string, tokens: readonly GeneratedToken[]): object[];
  /** Stream: the parts that end choice `index` (the last held-back text, then the reason and the stop string that ended it). */
  finish(index: number, reason: FinishReason, text: string, stop: string | null): object[];
  /** Complete response: one choice. */
  choice(index: number, state: ChoiceState): object;
  usage(usage: Usage): object;
}
