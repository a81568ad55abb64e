// The step loop under load: cancellation frees slots, many requests through few slots all
// finish correctly, the prefix cache changes nothing but the work done.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/engine/errors.ts';
import { collect, greedyRequest, loadTiny, randomTokens, type Collected } from './helpers.ts';

/** Waits (a bounded number of event-loop turns) until the step loop has caught up. */
async function settled(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('cancelling a stream frees its slot', async () => {
  const engine = await loadTiny({ maxBatchSize: 2 });
  const controller = new AbortController();
  let deltas = 0;
  let error: unknown;
  try {
    for await (const event of engine.generate(greedyRequest('c', randomTokens(3, 10), 1000), { signal: controller.signal })) {
      if (event.type === 'delta' && ++deltas === 2) controller.abort();
    }
  } catch (e) {
    error = e;
  }
  assert.instance(error, EngineError);
  assert.is((error as EngineError).code, 'CANCELLED');
  assert.ok(deltas <= 3, `stopped within a step (saw ${deltas} deltas)`);
  assert.equal([engine.stats().running, engine.stats().slotsUsedRatio], [0, 0]);

  // A consumer that simply stops reading cancels too.
  for await (const event of engine.generate(greedyRequest('d', randomTokens(4, 10), 1000))) if (event.type === 'delta') break;
  await settled(() => engine.stats().running === 0);
  assert.equal([engine.stats().running, engine.stats().slotsUsedRatio], [0, 0]);
  await engine.close();
});

test('200 requests of random sizes through a 4-slot engine all finish with the results they get alone', async () => {
  const engine = await loadTiny({ maxBatchSize: 4, prefillChunkTokens: 16 });
  const requests = Array.from({ length: 200 }, (_, i) => greedyRequest(`r${i}`, randomTokens(1000 + (i % 25), 1 + (((i % 25) * 7) % 40)), 1 + (i % 6)));
  // Greedy output with max_tokens m is the first m tokens of the longest run.
  const alone = new Map<string, number[]>();
  for (const r of requests.slice(0, 25)) alone.set(r.promptTokens.join(), (await collect(engine.generate({ ...r, maxTokens: 6 }))).tokens[0]);
  const results = await Promise.all(requests.map((r) => collect(engine.generate(r))));
  results.forEach((result, i) => {
    const expected = alone.get(requests[i].promptTokens.join())!.slice(0, requests[i].maxTokens);
    assert.equal(result.tokens[0], expected, `request ${i}`);
  });
  assert.equal([engine.stats().running, engine.stats().waiting, engine.stats().slotsUsedRatio], [0, 0, 0]);
  await engine.close();
});

test('prompts admitted together prefill in one padded forward pass and give their alone tokens', async () => {
  const prefills: number[] = [];
  const engine = await loadTiny({ maxBatchSize: 6, observer: { onForward: (f) => f.kind === 'prefill' && prefills.push(f.tokens) } });
  const requests = [3, 17, 1, 9, 30].map((length, i) => greedyRequest(`p${i}`, randomTokens(300 + i, length), 5));
  const alone = [];
  for (const r of requests) alone.push((await collect(engine.generate(r))).tokens[0]);
  prefills.length = 0;
  const together = await Promise.all(requests.map((r) => collect(engine.generate(r))));
  assert.equal(together.map((t) => t.tokens[0]), alone);
  assert.equal(prefills, [5 * 30], 'one prefill pass: 5 rows padded to the longest prompt');
  await engine.close();
});

test('a prefix-cache hit gives the same tokens as a miss', async () => {
  const cached = await loadTiny({ maxBatchSize: 2, enablePrefixCache: true });
  const plain = await loadTiny({ maxBatchSize: 2 });
  const shared = randomTokens(77, 30);
  const first = [...shared, ...randomTokens(78, 5)];
  const second = [...shared, ...randomTokens(79, 6)];
  await collect(cached.generate(greedyRequest('a', first, 4)));
  const hit = await collect(cached.generate(greedyRequest('b', second, 8)));
  const miss = await collect(plain.generate(greedyRequest('b', second, 8)));
  const usage = hit.events.at(-1)!;
  assert.ok(usage.type === 'usage' && usage.usage.cachedTokens >= shared.length, 'the shared prefix came from the cache');
  assert.is(cached.stats().prefixCacheHits, 1);
  assert.equal(hit.tokens, miss.tokens);
  await Promise.all([cached.close(), plain.close()]);
});

for (const runtime of ['native', 'onnxruntime-node'] as const) {
  test(`the prefix cache keeps a prefix per slot (${runtime}): a miss takes an empty slot, else the least recently used, and decode steps around a cached slot leave it intact`, async () => {
    let failedPasses = 0;
    const cached = await loadTiny({ maxBatchSize: 3, enablePrefixCache: true, runtime, observer: { onForwardFailed: () => failedPasses++ } });
    const plain = await loadTiny({ maxBatchSize: 3 });
    const cachedTokens = (run: Collected) => {
      const usage = run.events.at(-1)!;
      return usage.type === 'usage' ? usage.usage.cachedTokens : -1;
    };
    const prefixA = randomTokens(90, 24);
    const prefixB = randomTokens(91, 24);
    await collect(cached.generate(greedyRequest('a', prefixA, 3)));
    await collect(cached.generate(greedyRequest('b', prefixB, 3))); // an empty slot: A's prefix stays
    // Two long runs at once: one takes the last empty slot, the other A's (the least recently
    // released), so B's slot sits free inside the window of every decode step between them.
    await Promise.all(['c', 'd'].map((id, i) => collect(cached.generate(greedyRequest(id, randomTokens(92 + i, 10), 30)))));
    const again = [...prefixB, ...randomTokens(94, 5)];
    const hit = await collect(cached.generate(greedyRequest('b2', again, 8)));
    assert.ok(cachedTokens(hit) >= prefixB.length, `B's prefix came from the cache: ${cachedTokens(hit)} tokens`);
    assert.equal(hit.tokens, (await collect(plain.generate(greedyRequest('b2', again, 8)))).tokens, 'and it was intact');
    const evicted = await collect(cached.generate(greedyRequest('a2', [...prefixA, 7], 2)));
    assert.is(cachedTokens(evicted), 0, "A's slot went to a newer request");
    assert.is(failedPasses, 0, 'no forward pass failed and was retried on the way');
    await Promise.all([cached.close(), plain.close()]);
  });
}

test('a short shared opening (a chat template\'s) does not evict a cached prompt: its positions are copied to a free slot, and the tokens stay right', async () => {
  const cached = await loadTiny({ maxBatchSize: 3, enablePrefixCache: true });
  const plain = await loadTiny({ maxBatchSize: 3 });
  const opening = randomTokens(95, 6);
  const prompts = [96, 97].map((seed) => [...opening, ...randomTokens(seed, 30)]);
  const usages: number[] = [];
  for (const round of [0, 1]) {
    for (const [i, prompt] of prompts.entries()) {
      const request = greedyRequest(`r${round}-${i}`, [...prompt, 11 + round], 6);
      const run = await collect(cached.generate(request));
      const usage = run.events.at(-1)!;
      usages.push(usage.type === 'usage' ? usage.usage.cachedTokens : -1);
      assert.equal(run.tokens, (await collect(plain.generate(request))).tokens, `request ${request.requestId}`);
    }
  }
  // First round: the second prompt finds only the opening. Second round: each finds its whole prompt.
  assert.equal(usages.slice(0, 2), [0, opening.length]);
  assert.ok(usages[2]! >= prompts[0]!.length && usages[3]! >= prompts[1]!.length, `cached: ${usages.join(', ')}`);
  await Promise.all([cached.close(), plain.close()]);
});


test('a prompt prefilled inside running streams\' decode steps gives its alone tokens and prompt logprobs, and the streams theirs', async () => {
  const passes: string[] = [];
  const engine = await loadTiny({ maxBatchSize: 4, prefillChunkTokens: 64, observer: { onForward: (f) => passes.push(f.kind) } });
  assert.is(engine.runtime, 'native', 'mixed passes need the native runtime');
  const streams = [5, 11].map((length, i) => greedyRequest(`s${i}`, randomTokens(500 + i, length), 60));
  const long = greedyRequest('long', randomTokens(510, 300), 6, { promptLogprobs: 1 });
  const alone: Collected[] = [];
  for (const r of [...streams, long]) alone.push(await collect(engine.generate(r)));

  passes.length = 0;
  let firstEnd = Infinity; // passes run when the first stream ended
  const running = streams.map((r) => collect(engine.generate(r)).then((c) => ((firstEnd = Math.min(firstEnd, passes.length)), c)));
  // The long prompt arrives once both streams are decoding.
  await settled(() => passes.filter((kind) => kind === 'decode').length >= 3);
  const arrival = passes.length;
  const arriving = await collect(engine.generate(long));
  const together = [...(await Promise.all(running)), arriving];

  const beside = passes.slice(arrival, firstEnd);
  assert.ok(beside.filter((kind) => kind === 'mixed').length >= 3, `the prompt went in several mixed passes (${beside.join(' ')})`);
  assert.not.ok(beside.includes('prefill'), 'no prefill pass stalled the streams');
  together.forEach((result, i) => assert.equal(result.tokens[0], alone[i].tokens[0], `request ${i}`));
  const logprobs = (c: Collected) => {
    const prompt = c.events.find((e) => e.type === 'prompt');
    return prompt?.type === 'prompt' ? prompt.promptLogprobs!.slice(1).map((p) => p!.logprob ?? Number.NaN) : [];
  };
  const [got, want] = [logprobs(arriving), logprobs(alone[2])];
  assert.is(got.length, 299);
  got.forEach((value, i) => assert.ok(Math.abs(value - want[i]) < 1e-4, `prompt logprob ${i + 1}: ${value} vs ${want[i]}`));
  await engine.close();
});

test('with maxDecodeSlowdown 0, or on onnxruntime-node, a prompt arriving beside streams goes in whole chunks between their steps', async () => {
  for (const options of [{ maxDecodeSlowdown: 0 }, { runtime: 'onnxruntime-node' as const }]) {
    const passes: string[] = [];
    const engine = await loadTiny({ maxBatchSize: 4, prefillChunkTokens: 64, ...options, observer: { onForward: (f) => passes.push(f.kind) } });
    const stream = collect(engine.generate(greedyRequest('s', randomTokens(520, 5), 40)));
    await settled(() => passes.length >= 3);
    await collect(engine.generate(greedyRequest('long', randomTokens(521, 200), 2)));
    await stream;
    assert.not.ok(passes.includes('mixed'), JSON.stringify(options));
    assert.ok(passes.filter((kind) => kind === 'prefill').length >= 4, 'chunks of 64 between the decode steps');
    await engine.close();
  }
});

test('maxDecodeSlowdown is 0 or more than 1', async () => {
  for (const bad of [1, 0.5, -1, Number.NaN]) {
    try {
      await loadTiny({ maxDecodeSlowdown: bad });
      assert.unreachable(`${bad} accepted`);
    } catch (error) {
      assert.match((error as Error).message, /maxDecodeSlowdown must be 0 \(no mixed passes\) or more than 1/);
    }
  }
});

test.run();
