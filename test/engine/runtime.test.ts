// The two runtimes of the text graph: the native addon over ONNX Runtime's C API and
// onnxruntime-node. The engine tests elsewhere check the default runtime against the reference
// forward pass; these check that the runtimes agree, that the default is the addon whenever it
// is built, and that the addon turns bad calls into errors without harming the session.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../../src/engine/engine.ts';
import { createGraphSession, resolveRuntime, type Runtime } from '../../src/engine/graph-session.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { collect, greedyRequest, loadTiny, logSoftmax, randomTokens, tinyDir, tinyReference } from './helpers.ts';

/** The error `run` fails with, thrown or rejected; fails the test when it succeeds. */
async function failure(run: () => Promise<unknown>): Promise<string> {
  let message: string | undefined;
  try {
    await run();
  } catch (error) {
    message = (error as Error).message;
  }
  if (message === undefined) assert.unreachable('expected the run to fail');
  return message!;
}

const addonBuilt = existsSync(new URL('../../native/build/ort_session.node', import.meta.url));

test('the default runtime on the cpu is the native addon when it is built', async () => {
  const engine = await loadTiny();
  assert.is(engine.runtime, addonBuilt ? 'native' : 'onnxruntime-node');
  await engine.close();
  const forced = await loadTiny({ runtime: 'onnxruntime-node' });
  assert.is(forced.runtime, 'onnxruntime-node');
  await forced.close();
});

test('the engine sets ONNX Runtime\'s threads outright: the CPUs it may use unless told, never 0 or a fraction', async () => {
  const engine = await Engine.load(tinyDir());
  assert.is(engine.threads, availableParallelism());
  await engine.close();
  const one = await loadTiny({ threads: 1 });
  assert.is(one.threads, 1);
  await one.close();
  for (const threads of [0, 1.5]) {
    assert.match(await failure(() => loadTiny({ threads })), `threads must be a positive integer, got ${threads}`);
  }
});

test('both runtimes give the same tokens and logprobs for a batch of different lengths', async () => {
  if (!addonBuilt) return void console.warn('runtime.test: native addon not built; comparison skipped');
  const requests = [5, 23, 61].map((length, i) => greedyRequest(`r${i}`, randomTokens(300 + i, length), 12, { logprobs: 2 }));
  const results = [];
  for (const runtime of ['native', 'onnxruntime-node'] as const) {
    const engine = await loadTiny({ runtime, maxBatchSize: 3 });
    results.push(await Promise.all(requests.map((r) => collect(engine.generate(r)))));
    await engine.close();
  }
  // Their attention kernels differ (native/attention.c against ONNX Runtime's): float rounding apart.
  const [native, binding] = results;
  for (let r = 0; r < requests.length; r++) {
    assert.equal(native[r].tokens, binding[r].tokens, `request ${r} tokens`);
    const logprobs = (c: typeof native[0]) => c.events.flatMap((e) => (e.type === 'delta' ? e.tokens.map((t) => t.logprob ?? Number.NaN) : []));
    const [ours, theirs] = [logprobs(native[r]), logprobs(binding[r])];
    assert.is(ours.length, theirs.length);
    ours.forEach((value, i) => assert.ok(Math.abs(value - theirs[i]) < 1e-4, `request ${r} logprob ${i}: ${value} vs ${theirs[i]}`));
  }
});

/** One prefill pass of `prompt` on a fresh session of the tiny model's text graph, and its logits. */
async function tinyGraph(runtime: Runtime, prompt: number[]) {
  const dir = tinyDir();
  const m = readManifest(dir);
  const session = await createGraphSession(join(dir, m.graph), runtime, { providers: ['cpu'], threads: 1 });
  const capacity = 16;
  const kvDims = [1, m.numKeyValueHeads, capacity, m.headDim];
  const kv = Array.from({ length: 2 * m.numLayers }, () => new ort.Tensor('float32', new Float32Array(kvDims.reduce((a, b) => a * b)), kvDims));
  const logits = new Float32Array(prompt.length * m.vocabSize);
  const pass = (ids: ort.Tensor) => {
    const feeds: Record<string, ort.Tensor> = {
      [m.inputs.inputIds]: ids,
      [m.inputs.positionIds]: new ort.Tensor('int64', BigInt64Array.of(0n, 1n, 2n), [1, 3]),
      [m.inputs.seqlensK]: new ort.Tensor('int32', Int32Array.of(prompt.length - 1), [1]),
      [m.inputs.totalSequenceLength]: new ort.Tensor('int32', Int32Array.of(prompt.length), []),
      [m.inputs.logitsIndices]: new ort.Tensor('int64', BigInt64Array.of(0n, 1n, 2n), [3]),
    };
    const fetches: Record<string, ort.Tensor> = { [m.outputs.logits!]: new ort.Tensor('float32', logits, [prompt.length, m.vocabSize]) };
    for (let l = 0; l < m.numLayers; l++) {
      feeds[m.inputs.pastKeys[l]] = fetches[m.outputs.presentKeys[l]] = kv[2 * l];
      feeds[m.inputs.pastValues[l]] = fetches[m.outputs.presentValues[l]] = kv[2 * l + 1];
    }
    return session.run(feeds, fetches);
  };
  /** log_softmax of every position against the reference forward pass, within 1e-4. */
  const checkLogits = () => {
    const expected = tinyReference().newSequence().forward(prompt);
    for (let i = 0; i < prompt.length; i++) {
      const got = logSoftmax(logits.subarray(i * m.vocabSize, (i + 1) * m.vocabSize));
      const want = logSoftmax(expected[i]);
      let worst = 0;
      for (let v = 0; v < m.vocabSize; v++) worst = Math.max(worst, Math.abs(got[v] - want[v]));
      assert.ok(worst < 1e-4, `position ${i}: log_softmax differs by ${worst}`);
    }
  };
  return { session, pass, checkLogits, ids: BigInt64Array.from(prompt, BigInt) };
}

test('the native session rejects a malformed run with ONNX Runtime’s message, and the next run is right', async () => {
  if (!addonBuilt) return void console.warn('runtime.test: native addon not built; error handling skipped');
  const { session, pass, checkLogits, ids } = await tinyGraph('native', [11, 22, 33]);
  const wrongRank = await failure(() => pass(new ort.Tensor('int64', ids, [1, 3, 1])));
  assert.match(wrongRank, /rank/i, wrongRank);
  const wrongType = await failure(() => pass(new ort.Tensor('int32', Int32Array.from(ids, Number), [1, 3])));
  assert.match(wrongType, /type/i, wrongType);
  const tooSmall = await failure(() => pass(new ort.Tensor('int64', ids, [1, 4])));
  assert.match(tooSmall, /size|bytes|buffer|shape/i, tooSmall);
  await pass(new ort.Tensor('int64', ids, [1, 3]));
  checkLogits();
  await session.release();
  assert.match(await failure(() => pass(new ort.Tensor('int64', ids, [1, 3]))), /released/);
});

test('releasing a session while a run is pending lets the run finish, then refuses new runs', async () => {
  for (const runtime of addonBuilt ? (['native', 'onnxruntime-node'] as const) : (['onnxruntime-node'] as const)) {
    const { session, pass, checkLogits, ids } = await tinyGraph(runtime, [7, 8, 9]);
    const pending = pass(new ort.Tensor('int64', ids, [1, 3]));
    const released = session.release();
    assert.match(await failure(() => pass(new ort.Tensor('int64', ids, [1, 3]))), /released/, runtime);
    await pending;
    checkLogits();
    await released;
    assert.match(await failure(() => pass(new ort.Tensor('int64', ids, [1, 3]))), /released/, runtime);
  }
});

test('asking for the native runtime on a GPU provider names what it supports', () => {
  assert.throws(() => resolveRuntime('native', ['cuda']), /cpu device only/);
  assert.is(resolveRuntime('auto', ['cuda']), 'onnxruntime-node');
});

test.run();
