// Random strings (fast-check, 10,000 per tokenizer per run, fresh seed each run): ids identical to
// the Rust tokenizer, decode(encode(s)) == NFC(s), and streaming decode == full decode.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPair, MODEL_DIRS, rustIdsBatch } from './reference.ts';

const RUNS = 10_000;

// Pieces that stress the split patterns: contractions, digits, whitespace and newline runs, marks.
const tricky = fc.constantFrom(' ', '  ', '\n', '\r\n', '\t', 'a', 'Z', "'s", "'LL", "'ſ", '1', '١', '23', '.', '!?', 'é', 'e\u0301', '中', '한', '🙂', '\u200d', '\u00a0', '\u3000', '<|im_end|>', '<think>', '<|begin_of_text|>');
const strings = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }), // any code point, lone surrogates included
  fc.array(tricky, { maxLength: 20 }).map((parts) => parts.join('')),
);

// Rust normalizes with Unicode 9.0 data: where String.prototype.normalize (newer Unicode) gives
// another NFC, ids cannot match; such strings are excluded and counted (almost never drawn).
function nfcAgrees(text: string, rustNormalized: string): boolean {
  return text.toWellFormed().normalize('NFC') === rustNormalized;
}

for (const [name, dir] of Object.entries(MODEL_DIRS)) {
  test(`${name}: ${RUNS} random strings match the Rust tokenizer and round-trip`, async () => {
    const { ours, rust } = await loadPair(dir);
    const seed = Date.now() ^ (Math.random() * 2 ** 31);
    const samples = fc.sample(strings, { numRuns: RUNS, seed });
    const expected = await rustIdsBatch(rust, samples);
    const normalizer = rust.getNormalizer();
    let skipped = 0;
    samples.forEach((text, i) => {
      const where = `seed ${seed}, sample ${i}: ${JSON.stringify(text)}`;
      const wellFormed = text.toWellFormed();
      if (normalizer && !nfcAgrees(text, normalizer.normalizeString(wellFormed))) return void skipped++;
      const ids = ours.encode(text, { addSpecialTokens: false });
      assert.equal(ids, expected[i], where);
      assert.is(ours.decode(ids), normalizer ? wellFormed.normalize('NFC') : wellFormed, where);
    });
    assert.ok(skipped < RUNS / 100, `${skipped} samples skipped for NFC version differences`);
  });

  test(`${name}: streaming decode equals the full decode and never shows a partial character`, () => {
    const { ours } = pairs[name];
    fc.assert(
      fc.property(strings, fc.boolean(), (text, skipSpecialTokens) => {
        const ids = ours.encode(text);
        const full = ours.decode(ids, { skipSpecialTokens });
        const decoder = ours.createDecoder({ skipSpecialTokens });
        const chunks = ids.map((id) => decoder.push(id));
        chunks.push(decoder.flush());
        assert.is(chunks.join(''), full);
        if (!full.includes('\ufffd')) for (const chunk of chunks) assert.not.ok(chunk.includes('\ufffd'), JSON.stringify(chunks));
      }),
      { numRuns: 2000 },
    );
    // Arbitrary id sequences (invalid UTF-8 included) still concatenate to the full decode.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: ours.vocabSize - 1 }), { maxLength: 30 }), (ids) => {
        const decoder = ours.createDecoder();
        const streamed = ids.map((id) => decoder.push(id)).join('') + decoder.flush();
        assert.is(streamed, ours.decode(ids));
      }),
      { numRuns: 2000 },
    );
  });
}

const pairs: Record<string, Awaited<ReturnType<typeof loadPair>>> = {};
test.before(async () => {
  for (const [name, dir] of Object.entries(MODEL_DIRS)) pairs[name] = await loadPair(dir);
});

test.run();
