// The public Tokenizer: Hugging Face's byte-level BPE with identical ids, running in WebAssembly.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChatTemplate, readChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.ts';
import { assignAddedIds } from './added-ids.ts';
import type { TokenizerSpec } from './config.ts';
import { IncrementalDecoder } from './incremental-decoder.ts';
import { ALL_PASSES, WasmBpe, NORMALIZED_PASS } from './wasm-bpe.ts';
import { readTokenizerJson, type ModelVocab } from './tokenizer-json.ts';
import { Vocabulary } from './vocabulary.ts';
import { loadWasmUnit } from '../wasm/unit.ts';

export interface EncodeOptions {
  addSpecialTokens?: boolean;
}
export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

type Json = Record<string, unknown>;

async function readJson(path: string, required: boolean): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Like Promise.all, but the error is the first failure in list order, not in time. */
async function allInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A token in tokenizer_config.json: a string or an object with `content`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

// ignoreBOM: a leading U+FEFF is text, kept as Hugging Face's decode keeps it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const ASCII = /^[\x00-\x7f]*$/;

export class Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenIds: number[];
  readonly bosTokenId: number | undefined;
  private readonly chatTemplate: ChatTemplate | undefined;

  private constructor(
    private readonly spec: TokenizerSpec,
    private readonly vocab: Vocabulary,
    private readonly bpe: WasmBpe,
    config: Json,
    generationConfig: Json | undefined,
  ) {
    this.vocabSize = vocab.size;
    const bos = tokenContent(config.bos_token);
    const eos = tokenContent(config.eos_token);
    this.bosTokenId = bos === undefined ? undefined : vocab.id(bos);
    const eosIds = new Set<number>();
    const eosId = eos === undefined ? undefined : vocab.id(eos);
    if (eosId !== undefined) eosIds.add(eosId);
    for (const id of [generationConfig?.eos_token_id].flat()) if (typeof id === 'number') eosIds.add(id);
    this.eosTokenIds = [...eosIds];
    const template = readChatTemplate(config);
    this.chatTemplate = template === undefined ? undefined : new ChatTemplate(template, { bos_token: bos, eos_token: eos });
  }

  /** Loads tokenizer.json and tokenizer_config.json (+ generation_config.json when present). */
  static async load(modelDir: string): Promise<Tokenizer> {
    const unit = loadWasmUnit('tokenizer');
    const [parsed, config, generationConfig] = await allInOrder([
      unit.then((u) => readTokenizerJson(u, join(modelDir, 'tokenizer.json'))),
      readJson(join(modelDir, 'tokenizer_config.json'), true),
      readJson(join(modelDir, 'generation_config.json'), false),
    ]);
    let bpe: WasmBpe;
    let modelVocab: ModelVocab;
    try {
      bpe = WasmBpe.create(await unit, parsed.spec, parsed.tables);
      modelVocab = parsed.tables.modelVocab();
    } finally {
      parsed.tables.free();
    }
    const modelId = (token: string) => bpe.modelTokenId(token);
    const modelEntries = modelVocab.present.reduce((n, present) => n + present, 0);
    const spec = { ...parsed.spec, addedTokens: assignAddedIds(parsed.spec.addedTokens, modelId, modelEntries) };
    bpe.setAddedTokens(spec.addedTokens);
    return new Tokenizer(spec, new Vocabulary(spec, modelVocab, modelId), bpe, config!, generationConfig);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new Error('encode: text must be a string');
    const ids = this.spec.nfc ? this.encodeNfc(text) : this.bpe.encode(text, ALL_PASSES);
    if (opts.addSpecialTokens === false || (this.spec.prefixIds.length === 0 && this.spec.suffixIds.length === 0)) return ids;
    return [...this.spec.prefixIds, ...ids, ...this.spec.suffixIds];
  }

  /**
   * A lower bound on the number of ids `encode(text)` returns, found without encoding (which
   * takes seconds for megabytes of one repeated letter): no token stands for more than
   * `maxTokenBytes` bytes of the normalized text. A prompt this bound already puts past the
   * context can be refused at once.
   */
  minTokenCount(text: string): number {
    // ASCII is already NFC: a megabyte prompt then costs no normalized copy.
    const normalized = this.spec.nfc && !ASCII.test(text) ? text.normalize('NFC') : text;
    return Math.ceil(Buffer.byteLength(normalized, 'utf8') / this.vocab.maxTokenBytes);
  }

  // Added tokens with normalized=false are matched in the raw text; only the text between them
  // is normalized. Already-normalized text (the common case) takes a single WebAssembly call.
  private encodeNfc(text: string): number[] {
    const normalized = text.normalize('NFC');
    if (normalized === text) return this.bpe.encode(text, ALL_PASSES);
    const { bytes, spans } = this.bpe.findRawAdded(text);
    const ids: number[] = [];
    let done = 0;
    const encodeGap = (end: number) => {
      if (end > done) ids.push(...this.bpe.encode(utf8.decode(bytes.subarray(done, end)).normalize('NFC'), NORMALIZED_PASS));
    };
    for (let i = 0; i < spans.length; i += 3) {
      encodeGap(spans[i]);
      ids.push(spans[i + 2]);
      done = spans[i + 1];
    }
    encodeGap(bytes.length);
    return ids;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const pieces: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!this.vocab.has(id)) throw new Error(`decode: unknown token id ${id} at index ${i}`);
      if (skip && this.vocab.isSpecial(id)) continue;
      const bytes = this.vocab.bytes(id);
      pieces.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const piece of pieces) {
      all.set(piece, at);
      at += piece.length;
    }
    return utf8.decode(all);
  }

  createDecoder(opts: DecodeOptions = {}): IncrementalDecoder {
    return new IncrementalDecoder(this.vocab, opts.skipSpecialTokens ?? false);
  }

  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    if (!this.chatTemplate) throw new Error('applyChatTemplate: tokenizer_config.json has no chat_template');
    return this.chatTemplate.render(messages, opts);
  }

  /** Raw bytes of one token (a copy), as the decoder produces them. */
  tokenBytes(id: number): Uint8Array {
    if (!this.vocab.has(id)) throw new Error(`tokenBytes: unknown token id ${id}`);
    return this.vocab.bytes(id).slice();
  }

  /** Whether `id` names a token (ids past the vocabulary, and holes in it, do not). */
  hasId(id: number): boolean {
    return this.vocab.has(id);
  }

  idToToken(id: number): string | undefined {
    return this.vocab.token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.id(token);
  }

  isSpecial(id: number): boolean {
    return this.vocab.isSpecial(id);
  }
}
