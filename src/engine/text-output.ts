// Turns one sequence's tokens into text for the client: the incremental detokenizer never
// emits half a UTF-8 character, and the stop matcher holds back a tail that could still turn
// into a stop string.
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { StopMatcher } from '../sampling/stop.ts';

export interface TextOptions {
  skipSpecialTokens: boolean;
  stop: string[];
  includeStopStrInOutput: boolean;
}

export class TextOutput {
  private readonly decoder;
  private readonly stops: StopMatcher | null;
  private readonly stopStrings: readonly string[];

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: TextOptions,
  ) {
    this.decoder = tokenizer.createDecoder({ skipSpecialTokens: options.skipSpecialTokens });
    this.stops = options.stop.length > 0 ? new StopMatcher(options.stop, { includeStopStr: options.includeStopStrInOutput }) : null;
    this.stopStrings = options.stop;
  }

  /** Text made safe to emit by this token, and whether (and which) stop string just completed. */
  push(tokenId: number): { text: string; stopped: boolean; stop?: string } {
    // The model's vocabulary may be padded past the tokenizer's: such ids decode to nothing,
    // as in Hugging Face's decode.
    if (!this.tokenizer.hasId(tokenId)) return { text: '', stopped: false };
    const text = this.decoder.push(tokenId);
    if (!this.stops) return { text, stopped: false };
    const pushed = this.stops.push(text);
    return pushed.matched === undefined ? pushed : { text: pushed.text, stopped: true, stop: this.stopStrings[pushed.matched] };
  }

  /** Whatever was held back, at the end of the sequence (not after a stop string). */
  flush(): string {
    const text = this.decoder.flush();
    return this.stops ? this.stops.push(text).text + this.stops.flush() : text;
  }
}

/** The whole text of a finished token list, cut at the first stop string (beam search). */
export function finalText(tokenizer: Tokenizer, tokens: number[], options: TextOptions): { text: string; stopped: boolean; stop?: string } {
  const output = new TextOutput(tokenizer, options);
  let text = '';
  for (const token of tokens) {
    const step = output.push(token);
    text += step.text;
    if (step.stopped) return { text, stopped: true, stop: step.stop };
  }
  return { text: text + output.flush(), stopped: false };
}
