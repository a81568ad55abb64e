// Streaming detokenization: ids go in one at a time and only complete UTF-8 text comes out;
// the bytes of an unfinished character wait for the rest (TextDecoder's stream mode).
import type { Vocabulary } from './vocabulary.ts';

export class IncrementalDecoder {
  /** ignoreBOM: a leading U+FEFF is text (tokenizer.ts). */
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(
    private readonly vocab: Vocabulary,
    private readonly skipSpecialTokens: boolean,
  ) {}

  /** Text completed by this id (possibly empty). */
  push(id: number): string {
    if (!this.vocab.has(id)) throw new Error(`decode: unknown token id ${id}`);
    if (this.skipSpecialTokens && this.vocab.isSpecial(id)) return '';
    return this.utf8.decode(this.vocab.bytes(id), { stream: true });
  }

  /** Whatever is still held back (an unfinished character becomes U+FFFD, as in a full decode). */
  flush(): string {
    return this.utf8.decode();
  }
}
