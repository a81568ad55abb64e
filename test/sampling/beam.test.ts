import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { beamStep } from '../../src/sampling/beam.ts';
import { Sampler } from '../../src/sampling/sampler.ts';
import { beamStepReference, logSoftmax, makeRow, type RefBeam } from './reference.ts';

const MAX_BEAMS = 6;
const beamArb = fc.record({ finished: fc.boolean(), score: fc.double({ min: -40, max: 0, noNaN: true }), length: fc.integer({ min: 1, max: 30 }) });

test('beam survivors match the reference (parent, token, finished, score, logprob)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 400 }), fc.integer(), fc.constantFrom('random', 'ties', 'equal', 'masked') as fc.Arbitrary<'random' | 'ties' | 'equal' | 'masked'>,
      fc.array(beamArb, { minLength: 1, maxLength: MAX_BEAMS }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }),
      fc.option(fc.double({ min: -1, max: 2, noNaN: true }), { nil: undefined }), fc.array(fc.nat(), { maxLength: 2 }),
      async (vocab, seed, kind, states, k, width, lengthPenalty, eosRaw) => {
        const sampler = await Sampler.create(vocab, MAX_BEAMS);
        const eos = eosRaw.map((t) => t % vocab);
        const logits = sampler.logitsView(MAX_BEAMS);
        // Live beam i reads row (i + 1) % beams: rows need not follow beam order.
        const beams = states.map((b, i) => ({ ...b, row: b.finished ? undefined : (i + 1) % states.length }));
        const ref: RefBeam[] = beams.map((b, i) => {
          if (b.row === undefined) return { ...b, row: undefined };
          const row = makeRow(vocab, seed + i, kind);
          logits.set(row, b.row * vocab);
          return { ...b, row };
        });
        const got = beamStep(sampler, { beams, width, candidatesPerBeam: k, lengthPenalty, eosTokenIds: eos });
        const want = beamStepReference(ref, k, width, eos, lengthPenalty);
        assert.equal(got.map((s) => [s.parent, s.token, s.finished]), want.map((s) => [s.parent, s.token, s.finished]));
        got.forEach((s, j) => assert.ok(Math.abs(s.score - want[j].score) < 1e-5, `score ${s.score} vs ${want[j].score}`));
        for (const s of got.filter((s) => s.token >= 0)) {
          const expected = logSoftmax(ref[s.parent]!.row!)[s.token]!;
          assert.ok(Math.abs(s.logprob - expected) < 1e-5, `logprob ${s.logprob} vs ${expected}`);
        }
        sampler.dispose();
      },
    ),
    { numRuns: 200 },
  );
});

test('beam step rejects bad input', async () => {
  const sampler = await Sampler.create(10, 2);
  sampler.logitsView(2).fill(0);
  const live = { score: 0, finished: false, length: 0, row: 0 };
  const step = (over: object) => () => beamStep(sampler, { beams: [live], width: 2, candidatesPerBeam: 2, eosTokenIds: [], ...over });
  assert.throws(step({ candidatesPerBeam: 0 }), /candidatesPerBeam must be 1\.\.1024/);
  assert.throws(step({ width: 0 }), /width must be a positive integer/);
  assert.throws(step({ beams: [] }), /no beams/);
  assert.throws(step({ beams: [{ ...live, row: 2 }] }), /outside the buffer/);
  assert.throws(step({ beams: [{ ...live, row: undefined }] }), /no logits row/);
  sampler.logitsView(1)[4] = NaN;
  assert.throws(step({}), /NaN/);
  sampler.dispose();
});

test.run();
