import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { DecoderReference, argmax } from '../reference/decoder.ts';
import { EngineSession, cosineSimilarity, maxAbsDiff } from './engine-session.ts';

const reference = DecoderReference.load(ensureCheckpoint('tiny'));
const prompts = [
  Array.from({ length: 12 }, (_, i) => (i * 7919 + 13) % 151000),
  [9707, 11, 1879, 0, 3555, 374, 279, 6722, 315, 9625, 30],
  [151644, 872, 198, 14990, 151645, 198, 151644, 77091, 198],
];

test('fp16 weights: prefill and decode logits within 1e-2 of the reference', async () => {
  const engine = await EngineSession.open(ensureModel('tiny', 'fp16'), 1, 64);
  const ref = reference.newSequence();
  const got = await engine.prefill(0, prompts[0]!);
  const want = ref.forward(prompts[0]!);
  got.forEach((row, i) => assert.ok(maxAbsDiff(row, want[i]!) < 1e-2, `prefill position ${i}: ${maxAbsDiff(row, want[i]!)}`));
  let next = argmax(want.at(-1)!);
  for (let step = 0; step < 10; step++) {
    const [row] = await engine.decode([next]);
    const [expected] = ref.forward([next]);
    assert.ok(maxAbsDiff(row!, expected!) < 1e-2, `decode step ${step}: ${maxAbsDiff(row!, expected!)}`);
    next = argmax(expected!);
  }
});

test('int4 weights: the reference greedy tokens on 3 prompts, logits cosine > 0.99', async () => {
  const dir = ensureModel('tiny', 'int4');
  for (const [p, prompt] of prompts.entries()) {
    const engine = await EngineSession.open(dir, 1, 64);
    const ref = reference.newSequence();
    let logits = (await engine.prefill(0, prompt)).at(-1)!;
    let want = ref.forward(prompt).at(-1)!;
    const got: number[] = [];
    const expected: number[] = [];
    for (let step = 0; step < 8; step++) {
      assert.ok(cosineSimilarity(logits, want) > 0.99, `prompt ${p} step ${step}: cosine ${cosineSimilarity(logits, want)}`);
      expected.push(argmax(want));
      got.push(argmax(logits));
      // Both sides continue from the reference's token so one near-tie cannot derail the rest.
      logits = (await engine.decode([expected.at(-1)!]))[0]!;
      want = ref.forward([expected.at(-1)!])[0]!;
    }
    assert.equal(got, expected, `prompt ${p}`);
  }
});

test.run();
