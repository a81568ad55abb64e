// Beam search against a brute-force beam search over the reference forward pass, and
// /v1/sample against the reference log_softmax at the match positions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchSelector } from '../../src/sampling/selector.ts';
import { collect, greedyRequest, loadTiny, logSoftmax, randomTokens, tinyReference } from './helpers.ts';

/** API.md's beam search, spelled out over full reference forward passes. */
function referenceBeamSearch(prompt: number[], width: number, k: number, steps: number): Array<{ tokens: number[]; score: number }> {
  const ref = tinyReference();
  const memo = new Map<string, Float64Array>();
  const logprobsAfter = (tokens: number[]) => {
    const key = tokens.join();
    if (!memo.has(key)) memo.set(key, logSoftmax(ref.newSequence().forward([...prompt, ...tokens]).at(-1)!));
    return memo.get(key)!;
  };
  let beams = [{ tokens: [] as number[], score: 0 }];
  for (let s = 0; s < steps; s++) {
    const candidates = beams.flatMap((beam) => {
      const lp = logprobsAfter(beam.tokens);
      const top = [...lp.keys()].sort((a, b) => lp[b] - lp[a] || a - b).slice(0, k);
      return top.map((t) => ({ tokens: [...beam.tokens, t], score: beam.score + lp[t] }));
    });
    beams = candidates.sort((a, b) => b.score - a.score).slice(0, width);
  }
  return beams;
}

test('beam search equals a brute-force reference beam search', async () => {
  const engine = await loadTiny({ maxBatchSize: 4 });
  const prompt = randomTokens(5, 6);
  for (const [width, k] of [
    [2, 2],
    [3, 5],
    [4, 4],
  ]) {
    const expected = referenceBeamSearch(prompt, width, k, 3);
    const got = await collect(engine.generate(greedyRequest(`beam-${width}`, prompt, 3, { beam: { width, candidatesPerBeam: k }, logprobs: 0 })));
    assert.equal(got.tokens, expected.map((b) => b.tokens), `width ${width}, k ${k}`);
    got.tokens.forEach((_, i) => {
      const tokens = got.events.flatMap((e) => (e.type === 'delta' && e.index === i ? e.tokens : []));
      const score = tokens.reduce((s, t) => s + t.logprob!, 0);
      assert.ok(Math.abs(score - expected[i].score) < 1e-3, `beam ${i} score`);
    });
  }
  await engine.close();
});

test('/v1/sample logprobs equal the reference log_softmax at the match positions', async () => {
  const engine = await loadTiny();
  const ref = tinyReference();
  const prompt = 'The capital of France is Paris. The capital of Spain is Paris. Paris!';
  const rows = ref.newSequence().forward(engine.tokenizer.encode(prompt, { addSpecialTokens: false }));
  // ' Paris' is one vocabulary token (matched by id); 'capital of' is several (matched in the text).
  for (const [selector, count] of [
    [' Paris', 3],
    ['capital of', 2],
  ] as const) {
    const result = await engine.sample({ requestId: 's', prompt, selector, logprobs: 5 });
    const { tokenIds, matchPositions } = matchSelector(prompt, selector, engine.tokenizer);
    assert.is(result.promptTokens, tokenIds.length);
    assert.equal(result.matches.map((m) => m.position), matchPositions);
    assert.is(matchPositions.length, count, selector);
    const selectorRows = selector === ' Paris' ? rows : ref.newSequence().forward(tokenIds);
    for (const match of result.matches) {
      const expected = logSoftmax(selectorRows[match.position - 1]);
      const order = [...expected.keys()].sort((a, b) => expected[b] - expected[a]).slice(0, 5);
      assert.equal(match.top.map((t) => t.tokenId), order);
      match.top.forEach((t) => assert.ok(Math.abs(t.logprob - expected[t.tokenId]) < 1e-4));
    }
  }
  const none = await engine.sample({ requestId: 's2', prompt, selector: 'Berlin', logprobs: 5 });
  assert.equal(none.matches, []);
  const atStart = await engine.sample({ requestId: 's3', prompt: 'Paris is big', selector: 'Paris', logprobs: 2 });
  assert.equal(atStart.matches, [{ position: 0, top: [] }]);
  await engine.close();
});

test('/v1/sample with prefix caching: a match inside a cached prefix still gets its logprobs', async () => {
  const engine = await loadTiny({ enablePrefixCache: true, maxBatchSize: 2 });
  try {
    const prompt = 'Once upon a time, in a land far away: the capital of France is Paris, the capital of Spain is Madrid.';
    const first = await engine.sample({ requestId: 'c1', prompt, selector: ' capital', logprobs: 3 });
    assert.is(first.matches.length, 2);
    // The same prompt again, and one that extends it: their matches lie in the cached prefix.
    for (const again of [prompt, `${prompt} And Paris?`]) {
      const result = await engine.sample({ requestId: 'c2', prompt: again, selector: ' capital', logprobs: 3 });
      assert.equal(result.matches.map((m) => m.position), first.matches.map((m) => m.position));
      result.matches.forEach((m, i) => {
        assert.is(m.top.length, 3, `match ${i} has no logprobs`);
        assert.equal(m.top.map((t) => t.tokenId), first.matches[i]!.top.map((t) => t.tokenId));
      });
    }
    assert.ok(engine.stats().prefixCacheHits > 0, 'the prompt start (before the first match) was reused');
  } finally {
    await engine.close();
  }
});

test.run();
