// tokenizer.json variants patched from the shipped ones, given to both our tokenizer and the
// Rust one: TemplateProcessing (BOS), the GPT-2 pattern, added-token flags; and clear errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tokenizer } from '../../src/index.ts';
import { corpus, loadPair, MODEL_DIRS, patchedModelDir, rustIds } from './reference.ts';

async function assertSameIds(dir: string, texts: string[]): Promise<void> {
  const { ours, rust } = await loadPair(dir);
  for (const text of texts)
    for (const addSpecialTokens of [true, false])
      assert.equal(ours.encode(text, { addSpecialTokens }), await rustIds(rust, text, addSpecialTokens), JSON.stringify(text));
}

test('Llama-3 with a TemplateProcessing post-processor adds <|begin_of_text|>', async () => {
  const dir = patchedModelDir(MODEL_DIRS.llama3, (json) => {
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
    };
  });
  await assertSameIds(dir, corpus);
  const ours = await Tokenizer.load(dir);
  assert.is(ours.encode('hi')[0], 128000);
  assert.is(ours.encode('hi', { addSpecialTokens: false })[0] === 128000, false);
});

test('the GPT-2 split pattern (ByteLevel pre-tokenizer with use_regex)', async () => {
  const gpt2 = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  await assertSameIds(patchedModelDir(MODEL_DIRS.qwen3, (json) => (json.pre_tokenizer = gpt2)), corpus);
  const asSplit = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  };
  await assertSameIds(patchedModelDir(MODEL_DIRS.llama3, (json) => (json.pre_tokenizer = asSplit)), corpus);
});

test('added tokens with lstrip, rstrip, single_word and normalized flags', async () => {
  const token = (id: number, content: string, flags: Record<string, boolean>) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...flags,
  });
  const dir = patchedModelDir(MODEL_DIRS.qwen3, (json) => {
    json.added_tokens.push(
      token(151669, '[LEFT]', { lstrip: true }),
      token(151670, '[RIGHT]', { rstrip: true }),
      token(151671, 'zqxj', { single_word: true }),
      token(151672, 'café', { normalized: true }),
      token(151673, '<mask>', { lstrip: true, rstrip: true, special: true }),
    );
  });
  await assertSameIds(dir, [
    'a  [LEFT] b', '[LEFT]x', 'x [RIGHT]   y', 'x[RIGHT]\n\n', 'zqxj zqxjs szqxj zqxj.', ' zqxj1 (zqxj)', 'zqxjzqxj',
    'café cafe\u0301 xcafé', 'a <mask> b <mask><mask>  c', '\u00a0[LEFT]\u3000[RIGHT]\u2003',
    '<|im_end|>\u0338 e\u0301<think>', 'ωzqxj zqxjω é zqxj',
  ]);
});

test('a one-byte raw added token matched at every byte of a long text', async () => {
  const dir = patchedModelDir(MODEL_DIRS.qwen3, (json) => {
    json.added_tokens.push({ id: 151669, content: 'x', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  });
  // The NFC normalizer makes the raw (unnormalized) added tokens be matched first, over the whole text.
  await assertSameIds(dir, ['x'.repeat(2000) + ' e\u0301']);
});

test('added tokens get the ids Rust gives them, not the ids written in the file', async () => {
  const token = (id: number, content: string, special: boolean) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special,
  });
  const dir = patchedModelDir(MODEL_DIRS.qwen3, (json) => {
    json.added_tokens.push(
      token(151669, 'hello', false), // in the vocabulary: keeps its vocabulary id
      token(151670, 'Ġworld', true), // in the vocabulary, and now special
      token(151700, '<zz>', true), // new, past a gap: takes the next id
      token(151680, '<yy>', false),
    );
  });
  const { ours, rust } = await loadPair(dir);
  assert.is(ours.vocabSize, rust.getVocabSize(true));
  for (const content of ['hello', 'Ġworld', '<zz>', '<yy>', '<|im_end|>']) assert.is(ours.tokenToId(content), rust.tokenToId(content) ?? undefined, content);
  for (let id = 151660; id < 151710; id++) assert.is(ours.idToToken(id), rust.idToToken(id) ?? undefined, String(id));
  for (const text of ['hello world<zz> hello<yy>', 'xhello Ġworld <zz><zz>']) {
    const ids = ours.encode(text);
    assert.equal(ids, await rustIds(rust, text, true), text);
    for (const skip of [false, true]) assert.is(ours.decode(ids, { skipSpecialTokens: skip }), await rust.decode(ids, skip), text);
  }
  assert.is(ours.decode([14990, 1879], { skipSpecialTokens: true }), 'hello');
});

async function loadError(patch: (json: any) => void): Promise<string> {
  try {
    await Tokenizer.load(patchedModelDir(MODEL_DIRS.qwen3, patch));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the load to fail');
}

test('a malformed or unsupported tokenizer.json is one clear error naming the problem', async () => {
  assert.match(await loadError((j) => (j.model.type = 'WordPiece')), /unsupported model type "WordPiece"/);
  assert.match(await loadError((j) => (j.pre_tokenizer.pretokenizers[0].pattern.Regex = '\\w+')), /unsupported pre-tokenizer pattern/);
  assert.match(await loadError((j) => (j.normalizer = { type: 'NFKC' })), /unsupported normalizer "NFKC"/);
  assert.match(await loadError((j) => (j.model.merges[5] = 'x')), /model\.merges\[5\]/);
  assert.match(await loadError((j) => (j.model.merges[7] = ['Ġ', 'notatoken'])), /model\.merges\[7\].*missing from the vocabulary/);
  assert.match(await loadError((j) => delete j.model.vocab['Ā']), /lacks a token for some single byte/);
  assert.match(await loadError((j) => (j.model.vocab = [])), /model\.vocab must be an object/);
  assert.match(await loadError((j) => (j.model.dropout = 0.1)), /dropout/);
  assert.match(await loadError((j) => (j.decoder = { type: 'WordPiece' })), /unsupported decoder/);
  assert.match(await loadError((j) => (j.post_processor = { type: 'RobertaProcessing' })), /unsupported post_processor/);
  assert.match(await loadError((j) => (j.added_tokens[0] = { id: -1 })), /added_tokens\[0\]/);
  try {
    await Tokenizer.load('/nonexistent/dir');
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /cannot read .*tokenizer\.json/);
  }
});

test.run();
