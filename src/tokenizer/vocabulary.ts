// Id tables on the JS side: token strings, token bytes (for decoding and logprobs) and specials.
import { byteLevelDecodeInto } from './byte_level.ts';
import type { TokenizerSpec } from './config.ts';

const utf8 = new TextEncoder();

export class Vocabulary {
  readonly size: number;
  /** Model vocabulary bytes, ids 0 .. modelSize - 1, packed for the native side. */
  readonly modelBytes: Uint8Array;
  readonly modelOffsets: Int32Array;
  private readonly tokens: Array<string | undefined>;
  private readonly addedIds = new Map<string, number>();
  private modelIds: Map<string, number> | undefined; // built on first use: it costs load time
  private readonly special: Uint8Array;
  private readonly addedBytes = new Map<number, Uint8Array>();

  constructor(spec: TokenizerSpec) {
    // One pass over Object.keys: iterating the 150k-key vocab object dominates load time.
    const strings: Array<string | undefined> = [];
    const keys = Object.keys(spec.vocab);
    let modelSize = 0;
    let totalChars = 0;
    for (let i = 0; i < keys.length; i++) {
      const token = keys[i];
      const id = spec.vocab[token];
      if (!Number.isInteger(id) || id < 0) throw new Error(`tokenizer.json: model.vocab id of ${JSON.stringify(token)} is not a non-negative integer`);
      if (strings[id] !== undefined) throw new Error(`tokenizer.json: model.vocab id ${id} is used twice`);
      strings[id] = token;
      if (id >= modelSize) modelSize = id + 1;
      totalChars += token.length;
    }
    this.size = spec.addedTokens.reduce((max, t) => Math.max(max, t.id + 1), modelSize);
    strings.length = this.size;
    this.tokens = strings;
    this.modelBytes = new Uint8Array(totalChars);
    this.modelOffsets = new Int32Array(modelSize + 1);
    let at = 0;
    for (let id = 0; id < modelSize; id++) {
      this.modelOffsets[id] = at;
      const token = strings[id];
      if (token === undefined) continue;
      const n = byteLevelDecodeInto(token, this.modelBytes, at);
      if (n < 0) throw new Error(`tokenizer.json: vocab token ${JSON.stringify(token)} (id ${id}) is not byte-level`);
      at += n;
    }
    this.modelOffsets[modelSize] = at;

    this.special = new Uint8Array(this.size);
    for (const added of spec.addedTokens) {
      strings[added.id] = added.content;
      this.addedIds.set(added.content, added.id);
      if (added.special) this.special[added.id] = 1;
      this.addedBytes.set(added.id, decodedContent(added.content));
    }
  }

  token(id: number): string | undefined {
    return this.tokens[id];
  }
  id(token: string): number | undefined {
    const added = this.addedIds.get(token);
    if (added !== undefined) return added;
    if (!this.modelIds) {
      this.modelIds = new Map();
      for (let id = 0; id < this.modelOffsets.length - 1; id++) {
        const t = this.tokens[id];
        if (t !== undefined && this.modelOffsets[id + 1] > this.modelOffsets[id]) this.modelIds.set(t, id);
      }
    }
    return this.modelIds.get(token);
  }
  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.size && this.tokens[id] !== undefined;
  }

  /** Bytes the decoder produces for one id (the id must exist). */
  bytes(id: number): Uint8Array {
    const added = this.addedBytes.get(id);
    if (added) return added;
    return this.modelBytes.subarray(this.modelOffsets[id], this.modelOffsets[id + 1]);
  }
}

// Hugging Face's ByteLevel decoder maps an added token through the byte alphabet when every
// character belongs to it, and takes its UTF-8 otherwise.
function decodedContent(content: string): Uint8Array {
  const mapped = new Uint8Array(content.length);
  return byteLevelDecodeInto(content, mapped, 0) === content.length ? mapped : utf8.encode(content);
}
