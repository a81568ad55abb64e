import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { samplingParams } from '../../src/sampling/params.ts';
import { seedRng } from '../../src/sampling/rng.ts';
import { Sampler, type SampleRow } from '../../src/sampling/sampler.ts';
import { drawReference, keptDistribution, makeRow, nextUniform, processLogits } from './reference.ts';

/** Upper tail of chi-square with df degrees of freedom (Wilson–Hilferty normal approximation). */
function chiSquareP(statistic: number, df: number): number {
  const z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / Math.sqrt(2 / (9 * df));
  // Normal upper tail via the complementary error function (Abramowitz–Stegun 7.1.26).
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const erfc = t * Math.exp(-x * x) * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return x >= 0 ? erfc / 2 : 1 - erfc / 2;
}

const DRAWS = 20_000;

test('20,000 seeded draws follow the truncated softmax (chi-square p > 0.001)', async () => {
  const vocab = 64;
  const sampler = await Sampler.create(vocab, 1);
  const raw = makeRow(vocab, 12345, 'random').map((v) => v / 6); // a spread of plausible probabilities
  sampler.logitsView(1).set(raw);
  const cases = [
    { temperature: 0.8, topP: 0.9, topK: 30 },
    { temperature: 1.3, minP: 0.05 },
    { temperature: 1 },
    { temperature: 1, topP: 0.6 },
    { temperature: 0.7, topK: 8, topP: 0.8, minP: 0.02 },
  ];
  for (const partial of cases) {
    const params = samplingParams(partial);
    const want = keptDistribution(processLogits(raw, params, [], []), params);
    const counts = new Map<number, number>();
    const row: SampleRow = { params, promptTokens: [], outputTokens: [], rng: seedRng(2024) };
    for (let i = 0; i < DRAWS; i++) {
      const token = sampler.sample([row])[0].token;
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    for (const token of counts.keys()) assert.ok(want.has(token), `drew ${token} outside the kept set`);
    let statistic = 0;
    for (const [token, p] of want) statistic += ((counts.get(token) ?? 0) - p * DRAWS) ** 2 / (p * DRAWS);
    const pValue = chiSquareP(statistic, want.size - 1);
    assert.ok(pValue > 0.001, `${JSON.stringify(partial)}: chi-square ${statistic.toFixed(1)}, df ${want.size - 1}, p ${pValue}`);
  }
  sampler.dispose();
});

test('each draw is the inverse CDF of the kept set in id order at the seeded uniform', async () => {
  const vocab = 3000;
  const sampler = await Sampler.create(vocab, 1);
  for (let seed = 0; seed < 12; seed++) {
    const raw = makeRow(vocab, 777 + seed, seed % 3 === 0 ? 'ties' : 'random');
    sampler.logitsView(1).set(raw);
    const params = samplingParams([{ temperature: 1, topP: 0.95 }, { temperature: 0.6, topK: 40 }, { temperature: 1.2, minP: 0.01 }][seed % 3]);
    const kept = keptDistribution(processLogits(raw, params, [], []), params);
    const rng = seedRng(seed);
    const mirror = Uint32Array.from(rng);
    for (let i = 0; i < 200; i++) {
      const token = sampler.sample([{ params, promptTokens: [], outputTokens: [], rng }])[0].token;
      assert.is(token, drawReference(kept, nextUniform(mirror)));
    }
    assert.equal(rng, mirror, 'one uniform per draw');
  }
  sampler.dispose();
});

test('a seeded request draws the same tokens alone or anywhere in a batch', async () => {
  const vocab = 1000;
  const sampler = await Sampler.create(vocab, 4);
  const params = samplingParams({ temperature: 1.1, topP: 0.95 });
  const rows = Array.from({ length: 4 }, (_, i) => makeRow(vocab, 99 + i, 'random'));
  const logits = sampler.logitsView(4);
  const run = (positions: number[], steps: number): number[][] => {
    const states = positions.map((_, i) => seedRng(i === 0 ? 7 : 1000 + i));
    const out: number[][] = positions.map(() => []);
    for (let step = 0; step < steps; step++) {
      positions.forEach((at, i) => logits.set(rows[i === 0 ? 0 : i], at * vocab));
      const results = sampler.sample(positions.map((at, i) => ({ row: at, params, promptTokens: [], outputTokens: out[i], rng: states[i] })));
      results.forEach((r, i) => out[i].push(r.token));
    }
    return out;
  };
  const solo = run([0], 50)[0];
  assert.equal(run([2, 0, 1], 50)[0], solo);
  assert.equal(run([3, 1], 50)[0], solo);
  assert.ok(new Set(solo).size > 1, 'the draws vary');
  assert.not.equal(seedRng(7), seedRng(8));
  assert.not.equal(seedRng(), seedRng());
  sampler.dispose();
});

test.run();
