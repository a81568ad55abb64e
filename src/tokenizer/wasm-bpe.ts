// The WebAssembly BPE (wasm/tokenizer): takes the tables read by tokenizer-json.ts and encodes
// UTF-8 in place.
import type { WasmUnit } from '../wasm/unit.ts';
import { byteLevelDecodeInto } from './byte-level.ts';
import type { AddedTokenSpec, TokenizerSpec } from './config.ts';
import type { WasmTables } from './tokenizer-json.ts';

const PASS_ADDED_RAW = 1;
const PASS_ADDED_NORMALIZED = 2;
export const ALL_PASSES = PASS_ADDED_RAW | PASS_ADDED_NORMALIZED;
export const NORMALIZED_PASS = PASS_ADDED_NORMALIZED;
const FLAG = { lstrip: 1, rstrip: 2, singleWord: 4, normalized: 8 } as const;
const UNKNOWN_MERGE_TOKEN = -1005;

const ERRORS: Record<number, string> = {
  [-1000]: 'out of memory',
  [-1001]: 'the vocabulary holds the same token twice',
  [-1003]: 'the vocabulary lacks a token for some single byte',
  [-1004]: 'invalid argument',
};

function check(code: number, what: string): number {
  if (code < 0) throw new Error(`tokenizer: ${what}: ${ERRORS[code] ?? `error ${code}`}`);
  return code;
}

const utf8 = new TextEncoder();

function packStrings(strings: string[]): { bytes: Uint8Array; offsets: Int32Array } {
  const encoded = strings.map((s) => utf8.encode(s));
  const offsets = new Int32Array(strings.length + 1);
  encoded.forEach((e, i) => (offsets[i + 1] = offsets[i] + e.length));
  const bytes = new Uint8Array(offsets[strings.length]);
  encoded.forEach((e, i) => bytes.set(e, offsets[i]));
  return { bytes, offsets };
}

export class WasmBpe {
  private textPtr = 0;
  private textCap = 0;
  private outPtr = 0;
  private outCap = 0;

  private constructor(
    private readonly unit: WasmUnit,
    private readonly handle: number,
  ) {}

  /** Vocabulary and merges; unit: the instance the tables were read into (they stay the caller's). */
  static create(unit: WasmUnit, spec: TokenizerSpec, tables: WasmTables): WasmBpe {
    const handle = unit.exports.xl_tok_new(spec.splitPattern, spec.ignoreMerges ? 1 : 0) as number;
    if (!handle) throw new Error('tokenizer: could not create the WebAssembly tokenizer (out of memory)');
    const bpe = new WasmBpe(unit, handle);
    check(unit.exports.xl_tok_set_vocab(handle, tables.vocabBytesPtr, tables.vocabOffsetsPtr, tables.vocabCount) as number, 'loading the vocabulary');
    bpe.loadMerges(tables);
    return bpe;
  }

  setAddedTokens(tokens: AddedTokenSpec[]): void {
    const added = packStrings(tokens.map((t) => t.content));
    const ids = Int32Array.from(tokens, (t) => t.id);
    const flags = Int32Array.from(tokens, (t) =>
      (t.lstrip ? FLAG.lstrip : 0) | (t.rstrip ? FLAG.rstrip : 0) | (t.singleWord ? FLAG.singleWord : 0) | (t.normalized ? FLAG.normalized : 0),
    );
    this.call('xl_tok_set_added', 'loading the added tokens', [added.bytes, added.offsets, ids, flags], [ids.length]);
  }

  private loadMerges(tables: WasmTables): void {
    const badRule = this.unit.malloc(4);
    try {
      const code = this.unit.exports.xl_tok_set_merges(this.handle, tables.mergeBytesPtr, tables.mergeOffsetsPtr, tables.mergeCount, badRule) as number;
      if (code === UNKNOWN_MERGE_TOKEN) {
        const rank = this.unit.i32(badRule, 1)[0];
        const [left, right] = tables.mergeTokens(rank).map((token) => JSON.stringify(token));
        throw new Error(`tokenizer.json: model.merges[${rank}] (${left} + ${right}) uses a token missing from the vocabulary`);
      }
      check(code, 'loading the merges');
    } finally {
      this.unit.free(badRule);
    }
  }

  private call(fn: string, what: string, arrays: Array<Uint8Array | Int32Array>, scalars: number[]): void {
    const ptrs = arrays.map((a) => this.unit.copyIn(a));
    try {
      check(this.unit.exports[fn](this.handle, ...ptrs, ...scalars) as number, what);
    } finally {
      ptrs.forEach((p) => this.unit.free(p));
    }
  }

  /** Writes text as UTF-8 into wasm memory (lone surrogates become U+FFFD); returns its length. */
  private writeText(text: string): number {
    const need = text.length * 3;
    if (need > this.textCap) {
      this.unit.free(this.textPtr);
      this.textCap = Math.max(need, 4096);
      this.textPtr = this.unit.malloc(this.textCap);
    }
    return utf8.encodeInto(text, this.unit.u8.subarray(this.textPtr, this.textPtr + need)).written;
  }

  private reserveOut(count: number): void {
    if (count <= this.outCap) return;
    this.unit.free(this.outPtr);
    this.outCap = Math.max(count, 1024);
    this.outPtr = this.unit.malloc(this.outCap * 4);
  }

  /** The model vocabulary's id of a token (as vocab files spell it). */
  modelTokenId(token: string): number | undefined {
    const bytes = new Uint8Array(token.length);
    if (byteLevelDecodeInto(token, bytes, 0) <= 0) return undefined; // the WebAssembly table holds no empty token
    const ptr = this.unit.copyIn(bytes);
    try {
      const id = this.unit.exports.xl_tok_token_id(this.handle, ptr, bytes.length) as number;
      return id < 0 ? undefined : id;
    } finally {
      this.unit.free(ptr);
    }
  }

  /** Ids of already-normalized text; passes selects which added tokens are matched. */
  encode(text: string, passes: number): number[] {
    const length = this.writeText(text);
    this.reserveOut(length + 1); // at most one id per byte
    const n = check(this.unit.exports.xl_tok_encode(this.handle, this.textPtr, length, passes, this.outPtr, this.outCap) as number, 'encode');
    return Array.from(this.unit.i32(this.outPtr, n));
  }

  /** Added tokens matched before normalization, as [start, end, id] UTF-8 byte spans of bytes. */
  findRawAdded(text: string): { bytes: Uint8Array; spans: Int32Array } {
    const length = this.writeText(text);
    this.reserveOut(3 * length + 3); // a [start, end, id] triple per match, a match per byte at most
    const n = check(this.unit.exports.xl_tok_find_added(this.handle, this.textPtr, length, this.outPtr, this.outCap) as number, 'find added tokens');
    return { bytes: this.unit.u8.slice(this.textPtr, this.textPtr + length), spans: this.unit.i32(this.outPtr, n).slice() };
  }
}
