// Ids, decoding and token tables against Hugging Face's Rust tokenizer on the checked-in corpus.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { corpus, loadPair, MODEL_DIRS, rustIds, type Pair } from './reference.ts';

const pairs: Record<string, Pair> = {};

test.before(async () => {
  for (const [name, dir] of Object.entries(MODEL_DIRS)) pairs[name] = await loadPair(dir);
});

for (const name of Object.keys(MODEL_DIRS)) {
  test(`${name}: corpus ids match the Rust tokenizer, with and without special tokens`, async () => {
    const { ours, rust } = pairs[name];
    for (const text of corpus) {
      for (const addSpecialTokens of [true, false]) {
        assert.equal(ours.encode(text, { addSpecialTokens }), await rustIds(rust, text, addSpecialTokens), JSON.stringify(text));
      }
    }
  });

  test(`${name}: decode matches the Rust tokenizer, skipping special tokens or not`, async () => {
    const { ours, rust } = pairs[name];
    for (const text of corpus) {
      const ids = ours.encode(text);
      for (const skip of [false, true]) assert.is(ours.decode(ids, { skipSpecialTokens: skip }), await rust.decode(ids, skip), JSON.stringify(text));
    }
  });

  test(`${name}: minTokenCount is a lower bound on the ids encode returns`, () => {
    const { ours } = pairs[name];
    const long = [' '.repeat(300), 'x'.repeat(5000), '\u1100\u1161\u11A8'.repeat(200), '<|im_start|>'.repeat(50), '中文'.repeat(500)];
    for (const text of [...corpus, ...long]) {
      const bound = ours.minTokenCount(text);
      assert.ok(bound <= ours.encode(text, { addSpecialTokens: false }).length, `${bound} for ${JSON.stringify(text.slice(0, 40))}`);
    }
    assert.ok(ours.minTokenCount('x'.repeat(128 * 1000)) >= 1000, 'a megabyte-class text is bounded without encoding');
  });

  test(`${name}: a leading BOM (U+FEFF) is text: ids, decode and streamed decode match the Rust tokenizer`, async () => {
    const { ours, rust } = pairs[name];
    const texts = ['\uFEFF', '\uFEFFhello', '\uFEFF\uFEFF two', 'a\uFEFFb', '\uFEFF<|im_start|>user', '\uFEFFe\u0301 café', '\uFEFF中文'];
    for (const text of texts) {
      const ids = ours.encode(text, { addSpecialTokens: false });
      assert.equal(ids, await rustIds(rust, text, false), JSON.stringify(text));
      const expected = await rust.decode(ids, false);
      assert.ok(expected.startsWith(text[0]), 'the reference keeps the BOM');
      assert.is(ours.decode(ids), expected, JSON.stringify(text));
      const stream = ours.createDecoder();
      assert.is(ids.map((id) => stream.push(id)).join('') + stream.flush(), expected, `streamed ${JSON.stringify(text)}`);
    }
  });

  test(`${name}: decode(encode(s)) gives back the (normalized, well-formed) text`, () => {
    const { ours } = pairs[name];
    for (const text of corpus) {
      const wellFormed = text.toWellFormed();
      const expected = name === 'qwen3' ? wellFormed.normalize('NFC') : wellFormed;
      assert.is(ours.decode(ours.encode(text, { addSpecialTokens: false })), expected);
    }
  });

  test(`${name}: token tables match the Rust tokenizer`, () => {
    const { ours, rust } = pairs[name];
    assert.is(ours.vocabSize, rust.getVocabSize(true));
    for (let id = 0; id < ours.vocabSize; id += 97) {
      const token = rust.idToToken(id) ?? undefined;
      assert.is(ours.idToToken(id), token);
      if (token !== undefined) assert.is(ours.tokenToId(token), id);
    }
    assert.is(ours.tokenToId('no such token at all'), undefined);
  });
}

test('qwen3: special tokens, eos and bos come from the config files', () => {
  const { ours } = pairs.qwen3;
  assert.equal(ours.eosTokenIds, [ours.tokenToId('<|im_end|>')]);
  assert.is(ours.bosTokenId, undefined);
  assert.ok(ours.isSpecial(ours.tokenToId('<|im_start|>')!));
  assert.not.ok(ours.isSpecial(ours.tokenToId('<think>')!));
  assert.not.ok(ours.isSpecial(ours.tokenToId('hello')!));
});

test('llama3: bos from tokenizer_config, no BOS added by this ByteLevel post-processor', () => {
  const { ours } = pairs.llama3;
  assert.is(ours.bosTokenId, 128000);
  assert.equal(ours.eosTokenIds, [128001]);
  assert.not.equal(ours.encode('hi')[0], 128000);
});

test('tokenBytes: raw bytes of byte-level tokens and UTF-8 of special tokens', () => {
  const { ours } = pairs.qwen3;
  const rare = ours.encode('\u{2A6D6}'); // a rare CJK character splits into partial-byte tokens
  assert.ok(rare.length > 1);
  assert.equal([...Buffer.concat(rare.map((id) => ours.tokenBytes(id)))], [...Buffer.from('\u{2A6D6}')]);
  assert.equal([...ours.tokenBytes(ours.tokenToId('Ġhello')!)], [...Buffer.from(' hello')]);
  assert.equal([...ours.tokenBytes(ours.tokenToId('<|im_end|>')!)], [...Buffer.from('<|im_end|>')]);
  const ids = ours.encode('naïve 你好 🙂');
  assert.is(Buffer.concat(ids.map((id) => ours.tokenBytes(id))).toString(), 'naïve 你好 🙂');
});

test('bad ids are clear errors', () => {
  const { ours } = pairs.qwen3;
  assert.throws(() => ours.decode([1, -1]), /unknown token id -1/);
  assert.throws(() => ours.decode([ours.vocabSize]), /unknown token id/);
  assert.throws(() => ours.decode([1.5]), /unknown token id 1.5/);
  assert.throws(() => ours.tokenBytes(10 ** 9), /unknown token id/);
  assert.throws(() => ours.createDecoder().push(-3), /unknown token id -3/);
});

test.run();
