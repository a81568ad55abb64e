import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sampler } from '../../src/sampling/sampler.ts';
import { makeRow, topN, logSoftmax } from './reference.ts';

const MAX_VOCAB = 160_000;
const samplers = new Map<number, Sampler>();
async function samplerFor(vocab: number): Promise<Sampler> {
  let s = samplers.get(vocab);
  if (!s) samplers.set(vocab, (s = await Sampler.create(vocab, 1)));
  return s;
}

// Mostly small vocabularies, a few up to 160k so the suite stays fast.
const vocabArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 8 },
  { arbitrary: fc.integer({ min: 301, max: MAX_VOCAB }), weight: 1 },
  { arbitrary: fc.constant(MAX_VOCAB), weight: 1 },
);
const kindArb = fc.constantFrom('random', 'equal', 'ties', 'masked') as fc.Arbitrary<'random' | 'equal' | 'ties' | 'masked'>;

test('top-N ids and raw logprobs match the reference (ties to the lower id)', async () => {
  await fc.assert(
    fc.asyncProperty(vocabArb, fc.integer(), kindArb, fc.integer({ min: 0, max: 20 }), async (vocab, seed, kind, n) => {
      const s = await samplerFor(vocab);
      const row = makeRow(vocab, seed, kind);
      s.logitsView(1).set(row);
      const got = s.logSoftmaxTopN(0, n);
      const want = topN(row, n);
      assert.equal(got.ids, want.ids);
      got.logprobs.forEach((lp, i) => {
        if (want.logprobs[i] === -Infinity) assert.is(lp, -Infinity);
        else assert.ok(Math.abs(lp - want.logprobs[i]) < 1e-5, `logprob ${lp} vs ${want.logprobs[i]}`);
      });
      const tokens = [(seed >>> 0) % vocab, (seed >>> 8) % vocab, 0];
      const full = logSoftmax(row);
      s.logprobsOf(0, tokens).forEach((one, i) => {
        if (full[tokens[i]] === -Infinity) assert.is(one, -Infinity);
        else assert.ok(Math.abs(one - full[tokens[i]]) < 1e-5);
      });
    }),
    { numRuns: 150 },
  );
});

test('invalid rows are errors', async () => {
  const s = await samplerFor(8);
  const view = s.logitsView(1);
  view.fill(0);
  view[3] = NaN;
  assert.throws(() => s.logSoftmaxTopN(0, 2), /NaN/);
  view[3] = Infinity;
  assert.throws(() => s.logSoftmaxTopN(0, 2), /\+inf/);
  view.fill(-Infinity);
  assert.throws(() => s.logSoftmaxTopN(0, 2), /-inf/);
  view.fill(0);
  assert.throws(() => s.logSoftmaxTopN(0, 21), /top-n/);
  assert.throws(() => s.logSoftmaxTopN(1, 2), /outside the buffer/);
  assert.throws(() => s.logitsView(2), /buffer holds 1/);
  assert.throws(() => s.logprobsOf(0, [1, 8]), /outside the vocabulary/);
});

test('an empty vocabulary is rejected', async () => {
  let error: unknown;
  await Sampler.create(0, 1).catch((e) => (error = e));
  assert.match(String(error), /vocabSize must be a positive integer/);
});

test.run();
