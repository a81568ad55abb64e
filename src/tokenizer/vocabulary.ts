// Id tables on the JS side: token bytes (for decoding and logprobs), token strings and specials.
// Model tokens are kept as bytes only; their strings are made when asked for, and string → id
// lookups go to the WebAssembly table, so loading builds no per-token JS string or Map entry.
import { byteLevelDecodeInto, byteLevelEncode } from './byte-level.ts';
import type { TokenizerSpec } from './config.ts';
import type { ModelVocab } from './tokenizer-json.ts';

const utf8 = new TextEncoder();

export class Vocabulary {
  readonly size: number;
  /** The most bytes of text one token stands for (model tokens' bytes, added tokens' content). */
  readonly maxTokenBytes: number;
  private readonly addedIds = new Map<string, number>();
  private readonly addedContents = new Map<number, string>();
  private readonly addedBytes = new Map<number, Uint8Array>();
  private readonly special: Uint8Array;

  /** findModelId: the model vocabulary's id of a token string. */
  constructor(
    spec: TokenizerSpec,
    private readonly model: ModelVocab,
    private readonly findModelId: (token: string) => number | undefined,
  ) {
    this.size = spec.addedTokens.reduce((max, t) => Math.max(max, t.id + 1), model.present.length);
    this.special = new Uint8Array(this.size);
    let maxTokenBytes = 1;
    for (let id = 0; id + 1 < model.offsets.length; id++) maxTokenBytes = Math.max(maxTokenBytes, model.offsets[id + 1] - model.offsets[id]);
    for (const added of spec.addedTokens) {
      this.addedIds.set(added.content, added.id);
      this.addedContents.set(added.id, added.content);
      this.addedBytes.set(added.id, decodedContent(added.content));
      if (added.special) this.special[added.id] = 1;
      maxTokenBytes = Math.max(maxTokenBytes, utf8.encode(added.content).length, this.addedBytes.get(added.id)!.length);
    }
    this.maxTokenBytes = maxTokenBytes;
  }

  token(id: number): string | undefined {
    const added = this.addedContents.get(id);
    if (added !== undefined) return added;
    return this.model.present[id] === 1 ? byteLevelEncode(this.modelBytes(id)) : undefined;
  }
  id(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.findModelId(token);
  }
  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.size && (this.addedContents.has(id) || this.model.present[id] === 1);
  }

  /** Bytes the decoder produces for one id (the id must exist). */
  bytes(id: number): Uint8Array {
    return this.addedBytes.get(id) ?? this.modelBytes(id);
  }

  private modelBytes(id: number): Uint8Array {
    return this.model.bytes.subarray(this.model.offsets[id], this.model.offsets[id + 1]);
  }
}

// Hugging Face's ByteLevel decoder maps an added token through the byte alphabet when every
// character belongs to it, and takes its UTF-8 otherwise.
function decodedContent(content: string): Uint8Array {
  const mapped = new Uint8Array(content.length);
  return byteLevelDecodeInto(content, mapped, 0) === content.length ? mapped : utf8.encode(content);
}
