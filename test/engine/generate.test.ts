// The engine against the plain reference forward pass (test/reference): greedy decoding,
// batching invariance, chunked prefill, prompt logprobs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { samplingParams } from '../../src/sampling/params.ts';
import { argmax } from '../reference/decoder.ts';
import { collect, greedyRequest, loadTiny, logSoftmax, randomTokens, tinyReference } from './helpers.ts';

test('greedy tokens equal the reference forward pass, with and without chunked prefill', async () => {
  const ref = tinyReference();
  for (const chunk of [512, 7]) {
    const engine = await loadTiny({ prefillChunkTokens: chunk });
    const prompt = engine.tokenizer.encode('Hello world, this is a test of the engine with some more tokens to prefill.');
    const got = await collect(engine.generate(greedyRequest('g', prompt, 10)));
    assert.equal(got.tokens[0], ref.greedy(prompt, 10), `prefill chunk ${chunk}`);
    assert.is(got.finish[0], 'length');
    await engine.close();
  }
});

test('a request gives the same tokens alone and batched with 7 others of different lengths', async () => {
  const engine = await loadTiny({ maxBatchSize: 8 });
  const prompts = Array.from({ length: 8 }, (_, i) => randomTokens(i + 1, 3 + i * 5));
  const requests = prompts.map((p, i) => [
    greedyRequest(`greedy-${i}`, p, 6 + i),
    greedyRequest(`seeded-${i}`, p, 6 + i, { sampling: samplingParams({ temperature: 0.9, topP: 0.95, seed: 1234 + i }) }),
  ]);
  for (const kind of [0, 1]) {
    const alone = [];
    for (const r of requests) alone.push((await collect(engine.generate(r[kind]))).tokens[0]);
    const together = await Promise.all(requests.map((r) => collect(engine.generate(r[kind]))));
    assert.equal(
      together.map((t) => t.tokens[0]),
      alone,
      kind === 0 ? 'greedy' : 'seeded sampling',
    );
  }
  await engine.close();
});

test('prompt logprobs and token logprobs equal the reference log_softmax', async () => {
  const engine = await loadTiny({ prefillChunkTokens: 5 });
  const ref = tinyReference();
  const prompt = randomTokens(99, 12);
  const got = await collect(engine.generate(greedyRequest('lp', prompt, 3, { logprobs: 3, promptLogprobs: 2 })));
  const rows = ref.newSequence().forward([...prompt, ...got.tokens[0]]);
  const first = got.events[0];
  assert.is(first.type, 'prompt');
  if (first.type !== 'prompt') return;
  assert.is(first.promptLogprobs![0], null);
  for (let i = 1; i < prompt.length; i++) {
    const expected = logSoftmax(rows[i - 1]);
    const entry = first.promptLogprobs![i]!;
    assert.is(entry.tokenId, prompt[i]);
    assert.ok(Math.abs(entry.logprob! - expected[prompt[i]]) < 1e-4, `prompt position ${i}`);
    assert.is(entry.top![0].tokenId, argmax(rows[i - 1]));
  }
  const generated = got.events.flatMap((e) => (e.type === 'delta' ? e.tokens : []));
  generated.forEach((t, s) => {
    const expected = logSoftmax(rows[prompt.length - 1 + s]);
    assert.ok(Math.abs(t.logprob! - expected[t.tokenId]) < 1e-4, `generated token ${s}`);
    assert.is(t.top!.length, 3);
    assert.ok(Math.abs(t.top![1].logprob - [...expected].sort((a, b) => b - a)[1]) < 1e-4);
  });
  await engine.close();
});

test('scoreTokenIds report the raw log_softmax of chosen ids at each step, before sampling bends the row', async () => {
  const engine = await loadTiny();
  const ref = tinyReference();
  const prompt = randomTokens(101, 9);
  const ids = [9693, 2152, 17];
  // Penalties and a bias change what is drawn, not the scores.
  const request = greedyRequest('scores', prompt, 3, { scoreTokenIds: ids, sampling: samplingParams({ temperature: 0.7, seed: 5, repetitionPenalty: 1.3, logitBias: new Map([[17, 50]]) }) });
  const got = await collect(engine.generate(request));
  const rows = ref.newSequence().forward([...prompt, ...got.tokens[0]]);
  const generated = got.events.flatMap((e) => (e.type === 'delta' ? e.tokens : []));
  assert.is(generated.length, 3);
  generated.forEach((t, s) => {
    const expected = logSoftmax(rows[prompt.length - 1 + s]);
    assert.equal(t.scores!.map((x) => x.tokenId), ids);
    for (const { tokenId, logprob } of t.scores!) assert.ok(Math.abs(logprob - expected[tokenId]) < 1e-4, `step ${s}, token ${tokenId}`);
  });
  assert.ok(generated.every((t) => t.tokenId === 17), 'the bias decided the draws');
  for (const [scoreTokenIds, beam] of [[[151936], undefined], [[1], { width: 2, candidatesPerBeam: 2 }]] as const) {
    let message = '';
    try {
      await collect(engine.generate(greedyRequest('bad', prompt, 1, { scoreTokenIds: [...scoreTokenIds], ...(beam ? { beam } : {}) })));
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, /score_token_ids/);
  }
  await engine.close();
});

test('n > 1 and best_of: independent seeded choices, the best by mean logprob returned', async () => {
  const engine = await loadTiny({ maxBatchSize: 4 });
  const prompt = randomTokens(7, 9);
  const sampling = samplingParams({ temperature: 1, seed: 42 });
  const n3 = await collect(engine.generate(greedyRequest('n', prompt, 5, { sampling, n: 3 })));
  assert.is(n3.tokens.length, 3);
  assert.ok(new Set(n3.tokens.map((t) => t.join())).size > 1, 'three seeded streams differ');
  const again = await collect(engine.generate(greedyRequest('n', prompt, 5, { sampling, n: 3 })));
  assert.equal(again.tokens, n3.tokens, 'a seed repeats every choice');
  const best = await collect(engine.generate(greedyRequest('b', prompt, 5, { sampling, n: 1, bestOf: 3, logprobs: 0 })));
  const mean = (tokens: { logprob?: number }[]) => tokens.reduce((s, t) => s + t.logprob!, 0) / tokens.length;
  const candidates = await collect(engine.generate(greedyRequest('c', prompt, 5, { sampling, n: 3, logprobs: 0 })));
  const means = [0, 1, 2].map((i) => mean(candidates.events.flatMap((e) => (e.type === 'delta' && e.index === i ? e.tokens : []))));
  const winner = means.indexOf(Math.max(...means));
  assert.equal(best.tokens, [candidates.tokens[winner]]);
  await engine.close();
});

test.run();
