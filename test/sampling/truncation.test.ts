import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { samplingParams, type SamplingParams } from '../../src/sampling/params.ts';
import { seedRng } from '../../src/sampling/rng.ts';
import { Sampler } from '../../src/sampling/sampler.ts';
import { keptDistribution, logSoftmax, makeRow, processLogits, type RowKind } from './reference.ts';

const vocabArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 200 }), weight: 12 },
  { arbitrary: fc.integer({ min: 201, max: 160_000 }), weight: 1 },
);
const kindArb = fc.constantFrom<RowKind>('random', 'equal', 'ties', 'masked', 'ascending');
const paramsArb = fc.record({
  temperature: fc.oneof(fc.constant(0), fc.constant(1), fc.constantFrom(1e-4, 1e-3), fc.double({ min: 0.05, max: 2, noNaN: true })),
  // top_p within rounding of 1 makes the cut depend on summation order (float in C, double in
  // the reference): such values are no contract, so they stay out.
  topP: fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 0.9999, noNaN: true })),
  topK: fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: 1, max: 300 })),
  minP: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1, noNaN: true })),
  presencePenalty: fc.oneof(fc.constant(0), fc.double({ min: -2, max: 2, noNaN: true })),
  frequencyPenalty: fc.oneof(fc.constant(0), fc.double({ min: -2, max: 2, noNaN: true })),
  repetitionPenalty: fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 2, noNaN: true })),
});

const samplers = new Map<number, Sampler>();
async function samplerFor(vocab: number): Promise<Sampler> {
  let s = samplers.get(vocab);
  if (!s) {
    if (samplers.size > 8) for (const old of samplers.values()) old.dispose();
    if (samplers.size > 8) samplers.clear();
    samplers.set(vocab, (s = await Sampler.create(vocab, 2)));
  }
  return s;
}

function tokens(seed: number, count: number, vocab: number): number[] {
  return Array.from({ length: count }, (_, i) => (Math.imul(seed ^ (i * 0x9e3779b9), 0x85ebca6b) >>> 0) % vocab);
}

async function checkKeptSet(
  vocab: number, seed: number, kind: RowKind, partial: Partial<SamplingParams>, nPrompt: number, nOutput: number, nBias: number,
): Promise<void> {
  const logitBias = new Map(tokens(seed + 7, nBias, vocab).map((t, i) => [t, ((i * 37) % 21) - 10]));
  const params: SamplingParams = samplingParams({ ...partial, logitBias }, vocab);
  const prompt = tokens(seed, nPrompt, vocab);
  const output = tokens(seed + 1, nOutput, vocab);
  const raw = makeRow(vocab, seed, kind);
  const s = await samplerFor(vocab);
  s.logitsView(2).set(raw, vocab); // row 1: rows other than 0 are addressed right
  const want = keptDistribution(processLogits(raw, params, prompt, output), params);
  const got = s.keptTokens(1, { params, promptTokens: prompt, outputTokens: output });
  assert.equal([...got.ids].sort((a, b) => a - b), [...want.keys()].sort((a, b) => a - b));
  got.ids.forEach((id, i) => assert.ok(Math.abs(got.probs[i] - want.get(id)!) < 1e-6, `p(${id}) ${got.probs[i]} vs ${want.get(id)}`));
  // A draw lands inside the kept set; greedy rows give the argmax.
  const drawn = s.sample([{ row: 1, params, promptTokens: prompt, outputTokens: output, rng: seedRng(seed) }])[0];
  assert.ok(want.has(drawn.token), `drew ${drawn.token} outside the kept set`);
}

const countsArb = [fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 4 })] as const;

test('kept sets and probabilities match the reference (processors, top-k, top-p, min-p)', async () => {
  await fc.assert(fc.asyncProperty(vocabArb, fc.integer(), kindArb, paramsArb, ...countsArb, checkKeptSet), { numRuns: 300 });
});

// Top-k and top-p boundaries both inside the few best tokens (top-p applies to the
// renormalised top-k set), on vocabularies up to Qwen's.
test('small top_k with small top_p match the reference', async () => {
  const smallArb = fc.record({
    temperature: fc.oneof(fc.constant(1), fc.constantFrom(1e-4, 1e-3), fc.double({ min: 0.05, max: 2, noNaN: true })),
    topP: fc.double({ min: 0.01, max: 0.6, noNaN: true }),
    topK: fc.integer({ min: 1, max: 24 }),
    minP: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 0.5, noNaN: true })),
  });
  const wideArb = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1000, max: 160_000 }));
  await fc.assert(fc.asyncProperty(wideArb, fc.integer(), kindArb, smallArb, ...countsArb, checkKeptSet), { numRuns: 120 });
});

test('bad inputs are errors naming the problem', async () => {
  const s = await samplerFor(16);
  const params = samplingParams();
  const view = s.logitsView(2);
  view.fill(0);
  const rng = seedRng(1);
  // The histories are read, and checked, when a penalty uses them.
  const penalized = samplingParams({ repetitionPenalty: 1.2 });
  assert.throws(() => s.sample([{ params: penalized, promptTokens: [16], outputTokens: [], rng }]), /outside the vocabulary/);
  assert.throws(() => s.sample([{ params: samplingParams({ presencePenalty: 0.5 }), promptTokens: [], outputTokens: [-1], rng }]), /outside the vocabulary/);
  assert.throws(() => s.sample([{ row: 2, params, promptTokens: [], outputTokens: [], rng }]), /outside the buffer/);
  const three = { params, promptTokens: [], outputTokens: [], rng };
  assert.throws(() => s.sample([three, three, three]), /3 rows requested/);
  assert.throws(() => s.sample([{ ...three, topN: 21 }]), /top-n must be 0..20, got 21/);
  view[5] = NaN;
  assert.throws(() => s.sample([three]), /NaN/);
  view.fill(0);
  const banned = samplingParams({ logitBias: new Map(Array.from({ length: 16 }, (_, t) => [t, -100])) });
  view.fill(-Infinity);
  view[3] = 0;
  assert.is(s.sample([{ ...three, params: banned }])[0].token, 3); // -100 bias still leaves a choice
  view.fill(-Infinity);
  assert.throws(() => s.sample([three]), /every logit is -inf/);
});

test('withLogprob false: the same token from the same seed, no logprob, NaN rows still refused', async () => {
  const vocab = 5000;
  const s = await samplerFor(vocab);
  for (const [i, params] of [samplingParams({ temperature: 0 }), samplingParams({ temperature: 0.8, topP: 0.9 }), samplingParams({ repetitionPenalty: 1.2 })].entries()) {
    s.logitsView(1).set(makeRow(vocab, 7 + i, 'random'));
    const input = { params, promptTokens: [1, 2, 3], outputTokens: [4], rng: seedRng(11) };
    const full = s.sample([input])[0];
    const lean = s.sample([{ ...input, rng: seedRng(11), withLogprob: false }])[0];
    assert.is(lean.token, full.token);
    assert.ok(Number.isNaN(lean.logprob));
    assert.ok(Math.abs(full.logprob - logSoftmax(s.logitsView(1))[full.token]!) < 1e-5);
  }
  s.logitsView(1)[17] = NaN;
  assert.throws(() => s.sample([{ params: samplingParams(), promptTokens: [], outputTokens: [], rng: seedRng(1), withLogprob: false }]), /NaN/);
});

test.run();
