// Reading tokenizer.json with the C table reader: escapes decoded exactly (against the Rust
// tokenizer on the same file), the JSON grammar judged as JSON.parse judges it, and one clear
// error for each kind of broken vocab or merges entry.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tokenizer } from '../../src/index.ts';
import { BYTE_TO_CHAR } from '../../src/tokenizer/byte-level.ts';
import { readTokenizerJson } from '../../src/tokenizer/tokenizer-json.ts';
import { loadWasmUnit } from '../../src/wasm/unit.ts';
import { corpus, loadPair, MODEL_DIRS, patchedModelDir, rustIds } from './reference.ts';

// JSON text with every third character of every string (keys included) written as a \u escape,
// alternating hex case, and every '/' as '\/': what a hand-edited or other-tool file may hold.
function escapedJson(value: unknown): string {
  if (typeof value === 'string') {
    let out = '"';
    [...value].forEach((char, i) => {
      const code = char.codePointAt(0)!;
      if (char === '/') out += '\\/';
      else if (i % 3 === 0 || code < 0x20) {
        for (const unit of code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code]) {
          const hex = unit.toString(16).padStart(4, '0');
          out += `\\u${i % 2 ? hex.toUpperCase() : hex}`;
        }
      } else out += JSON.stringify(char).slice(1, -1);
    });
    return out + '"';
  }
  if (Array.isArray(value)) return `[\n ${value.map(escapedJson).join(',\n ')}]`;
  if (value !== null && typeof value === 'object')
    return `{ ${Object.entries(value).map(([k, v]) => `${escapedJson(k)} :\t${escapedJson(v)}`).join(' ,\r\n')} }`;
  return JSON.stringify(value);
}

test('an escaped Qwen3 tokenizer.json, vocab in reverse order, "a b" merges: same tables as the plain file, same ids as Rust', async () => {
  const plain = await Tokenizer.load(MODEL_DIRS.qwen3);
  const json = JSON.parse(readFileSync(join(MODEL_DIRS.qwen3, 'tokenizer.json'), 'utf8'));
  json.model.vocab = Object.fromEntries(Object.entries(json.model.vocab).reverse());
  json.model.merges = json.model.merges.map((pair: string[]) => pair.join(' '));
  const dir = mkdtempSync(join(tmpdir(), 'xllm-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), escapedJson(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), readFileSync(join(MODEL_DIRS.qwen3, 'tokenizer_config.json')));
  const { ours, rust } = await loadPair(dir);
  assert.is(ours.vocabSize, plain.vocabSize);
  for (let id = 0; id < ours.vocabSize; id++) assert.is(ours.idToToken(id), plain.idToToken(id));
  for (const text of corpus) assert.equal(ours.encode(text), await rustIds(rust, text, true), JSON.stringify(text));
});

// A minimal byte-level tokenizer.json; `extra` goes into the top level and into the model.
function tinyTokenizerJson(extra: string): string {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((char, byte) => (vocab[String.fromCharCode(char)] = byte));
  const model = `{"type":"BPE","extra":${extra},"vocab":${JSON.stringify(vocab)},"merges":[]}`;
  return `{"added_tokens":[],"pre_tokenizer":{"type":"ByteLevel","use_regex":true},"decoder":null,"model":${model},"extra":${extra}}`;
}

test('the JSON grammar: a file loads exactly when JSON.parse accepts it', async () => {
  const unit = await loadWasmUnit('tokenizer');
  const path = join(mkdtempSync(join(tmpdir(), 'xllm-tok-')), 'tiny.json');
  const edits = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '-', '.', 'e', 'u', 'n', '\n', '\u0001', 'é');
  const mutated = fc.tuple(fc.json({ stringUnit: 'binary', maxDepth: 4 }), fc.nat(), edits, fc.boolean()).map(([text, at, edit, insert]) => {
    const i = at % (text.length + 1);
    return insert ? text.slice(0, i) + edit + text.slice(i) : text.slice(0, i) + text.slice(i + 1);
  });
  let valid = 0;
  for (const extra of fc.sample(mutated, { numRuns: 2000, seed: Date.now() })) {
    const text = tinyTokenizerJson(extra);
    writeFileSync(path, text);
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    let error = '';
    try {
      (await readTokenizerJson(unit, path)).tables.free();
    } catch (e) {
      error = (e as Error).message;
    }
    assert.is(error === '', parses, `${JSON.stringify(extra)}: ${error}`);
    if (!parses) assert.match(error, /tiny\.json is not valid JSON: .* at line \d+ column \d+$/);
    valid += parses ? 1 : 0;
  }
  assert.ok(valid > 200 && valid < 1800, `${valid} of 2000 mutated values were valid JSON`);
});

async function loadError(patch: (json: any) => void): Promise<string> {
  try {
    await Tokenizer.load(patchedModelDir(MODEL_DIRS.llama3, patch));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the load to fail');
}

test('each kind of broken vocab or merges entry is one clear error naming it', async () => {
  assert.match(await loadError((j) => (j.model.vocab['Ġthe'] = '279')), /model\.vocab id of "Ġthe" is not a non-negative integer/);
  assert.match(await loadError((j) => (j.model.vocab['Ġthe'] = 1.5)), /model\.vocab id of "Ġthe" is not a non-negative integer/);
  assert.match(await loadError((j) => (j.model.vocab['Ġthe'] = -1)), /model\.vocab id of "Ġthe" is not a non-negative integer/);
  assert.match(await loadError((j) => (j.model.vocab['Ġthe'] = 2 ** 31)), /model\.vocab id of "Ġthe" is larger than 16777215/);
  assert.match(await loadError((j) => (j.model.vocab['a b'] = 7)), /model\.vocab token "a b" is not byte-level/);
  assert.match(await loadError((j) => (j.model.vocab['😀'] = 7)), /model\.vocab token "😀" is not byte-level/);
  assert.match(await loadError((j) => (j.model.vocab['Ġthe'] = 12)), /model\.vocab id 12 is used twice/);
  assert.match(await loadError((j) => (j.model.merges[3] = 'Ġ Ġ Ġ')), /model\.merges\[3\] is not a pair of byte-level tokens: "Ġ Ġ Ġ"/);
  assert.match(await loadError((j) => (j.model.merges[4] = ' Ġ')), /model\.merges\[4\] is not a pair/);
  assert.match(await loadError((j) => (j.model.merges[5] = ['Ġ'])), /model\.merges\[5\] is not a pair of byte-level tokens: \["Ġ"\]/);
  assert.match(await loadError((j) => (j.model.merges[6] = [1, 2])), /model\.merges\[6\] is not a pair/);
  assert.match(await loadError((j) => (j.model.merges[7] = 'Ġ ÿÿÿÿÿÿ')), /model\.merges\[7\] \("Ġ" \+ "ÿÿÿÿÿÿ"\) uses a token missing from the vocabulary/);
  assert.match(await loadError((j) => (j.model.merges[8] = ['Ġ', '中'])), /model\.merges\[8\] is not a pair/);
});

async function textEditError(edit: (text: string) => string): Promise<string> {
  const dir = patchedModelDir(MODEL_DIRS.qwen3, () => {});
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
  try {
    await Tokenizer.load(dir);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the load to fail');
}

test('a file that is not JSON names the place; a token written twice in model.vocab is an error', async () => {
  assert.match(await textEditError((t) => t.replace('"merges":', '"merges"')), /tokenizer\.json is not valid JSON: unexpected character at line 1 column \d+/);
  assert.match(await textEditError((t) => t.replace('{"type":"BPE"', '{"type":"BPE","vocab":{},"vocab":5')), /not valid JSON: model, model\.vocab or model\.merges given twice/);
  // JSON.parse would keep the last silently; two ids for one token is a broken vocabulary.
  assert.match(await textEditError((t) => t.replace('"Ġthe":', '"Ġthe":200000,"Ġthe":')), /the vocabulary holds the same token twice/);
});

test.run();
