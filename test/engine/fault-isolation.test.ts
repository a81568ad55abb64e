// One bad request never harms another. Bad input is refused by the engine itself before it is
// admitted (a typed INVALID_ARGUMENT naming the field), and a forward pass that fails anyway
// fails only the request that makes it fail: a batch is retried member by member. In every
// case a greedy stream running beside it gives exactly the tokens it gives alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Engine } from '../../src/engine/engine.ts';
import { EngineError } from '../../src/engine/errors.ts';
import type { ModelRunner } from '../../src/engine/model-runner.ts';
import type { GenerationRequest } from '../../src/engine/types.ts';
import { samplingParams } from '../../src/sampling/params.ts';
import { collect, greedyRequest, loadTiny, randomTokens } from './helpers.ts';

const NEIGHBOUR = randomTokens(41, 12);
const STEPS = 40;

/** The neighbour's tokens when it runs alone. */
async function solo(engine: Engine): Promise<number[]> {
  return (await collect(engine.generate(greedyRequest('solo', NEIGHBOUR, STEPS)))).tokens[0];
}

/** Starts the neighbour stream and resolves once it has produced its first tokens. */
function startNeighbour(engine: Engine): { started: Promise<void>; done: Promise<number[]> } {
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const done = (async () => {
    const tokens: number[] = [];
    for await (const event of engine.generate(greedyRequest('neighbour', NEIGHBOUR, STEPS))) {
      if (event.type !== 'delta') continue;
      tokens.push(...event.tokens.map((t) => t.tokenId));
      if (tokens.length === 2) markStarted();
    }
    return tokens;
  })();
  return { started, done };
}

/** The EngineError `run` throws or rejects with; fails the test when it succeeds. */
async function engineError(run: () => unknown): Promise<EngineError> {
  try {
    await run();
  } catch (error) {
    assert.instance(error, EngineError);
    return error as EngineError;
  }
  assert.unreachable('it succeeded');
  throw new Error('unreachable');
}

/** Drains a generation to its end. */
async function drain(events: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of events) void _;
}

test('bad requests are refused up front, naming the field, and a running stream is untouched', async () => {
  const engine = await loadTiny({ maxBatchSize: 4 });
  const vocab = 151936;
  const alone = await solo(engine);
  const neighbour = startNeighbour(engine);
  await neighbour.started;
  const base = greedyRequest('bad', randomTokens(5, 6), 8);
  const bad: Array<[string, Partial<GenerationRequest>]> = [
    ['logit_bias', { sampling: { ...base.sampling, logitBias: new Map([[99_999_999, 5]]) } }],
    ['logit_bias', { sampling: { ...base.sampling, logitBias: new Map([[vocab, 5]]) } }],
    ['prompt', { promptTokens: [1, 99_999_999] }],
    ['prompt', { promptTokens: [1, -1] }],
    ['prompt', { promptTokens: [1, 2.5] }],
    ['stop_token_ids', { stopTokenIds: [3, 99_999_999] }],
    ['top_p', { sampling: { ...base.sampling, topP: 7 } }],
    ['temperature', { sampling: { ...base.sampling, temperature: Number.NaN } }],
    ['top_k', { sampling: { ...base.sampling, topK: -5 } }],
    ['repetition_penalty', { sampling: { ...base.sampling, repetitionPenalty: Infinity } }],
    ['stop', { stop: [''] }],
    ['stop', { stop: Array(17).fill('x') }],
    ['max_tokens', { maxTokens: 0 }],
    ['logprobs', { logprobs: 21 }],
    ['n', { n: 0 }],
    ['best_of', { n: 3, bestOf: 2 }],
    ['best_of', { bestOf: 5 }],
    ['beam_candidates', { beam: { width: 2, candidatesPerBeam: 0 } }],
    ['n', { beam: { width: 2, candidatesPerBeam: 2 }, n: 3 }],
    ['images', { images: [{ pixelValues: new Float32Array(4), gridThw: [1, 2, 2], tokenCount: 1 }] }],
  ];
  for (const [param, patch] of bad) {
    const error = await engineError(() => engine.generate({ ...base, ...patch }));
    assert.is(error.code, 'INVALID_ARGUMENT', `${param}: ${error.message}`);
    assert.is(error.param, param, error.message);
  }
  const sampleErrors: Array<[string, object]> = [
    ['logprobs', { logprobs: 50 }],
    ['logprobs', { logprobs: 0 }],
    ['selector.value', { selector: '' }],
  ];
  for (const [param, patch] of sampleErrors) {
    const error = await engineError(() => engine.sample({ requestId: 's', prompt: 'a <x> b', selector: '<x>', logprobs: 5, ...patch }));
    assert.equal([error.code, error.param], ['INVALID_ARGUMENT', param]);
  }
  assert.equal(await neighbour.done, alone);
  assert.equal([engine.stats().running, engine.stats().waiting, engine.stats().slotsUsedRatio], [0, 0, 0]);
  await engine.close();
});

const POISON_PROMPT_TOKEN = 4242;
const POISON_OUTPUT_TOKEN = 777;

/**
 * A runner whose forward pass fails whenever a row carries a poison token, as a kernel would
 * fail on one request's data: the prompt token fails prefill passes, the output token decode
 * passes. Everything else runs the real model.
 */
function poisonRunner(engine: Engine): { passes: { rows: number; seq: number; failed: boolean }[] } {
  const runner = (engine as unknown as { runner: ModelRunner }).runner;
  const forward = runner.forward.bind(runner);
  const log: { rows: number; seq: number; failed: boolean }[] = [];
  runner.forward = async (step) => {
    const poisoned = (s: (typeof step.segments)[number]) => {
      const tokens = Array.from(s.tokens);
      return tokens.includes(POISON_PROMPT_TOKEN) || (s.seq === 1 && tokens.includes(POISON_OUTPUT_TOKEN));
    };
    const failed = step.segments.some(poisoned);
    const rows = step.segments.reduce((n, s) => n + s.rows, 0);
    log.push({ rows, seq: Math.max(...step.segments.map((s) => s.seq)), failed });
    if (failed) throw new Error('kernel failed on a poisoned row');
    return forward(step);
  };
  return { passes: log };
}

test('a prefill pass shared with a poisoned prompt is retried alone: only the poisoned request fails', async () => {
  const engine = await loadTiny({ maxBatchSize: 4 });
  const alone = await solo(engine);
  const { passes } = poisonRunner(engine);
  // Submitted together, both fresh short prompts prefill in one padded pass.
  const neighbour = collect(engine.generate(greedyRequest('neighbour', NEIGHBOUR, STEPS)));
  const poisoned = engineError(() => drain(engine.generate(greedyRequest('poisoned', [...randomTokens(9, 5), POISON_PROMPT_TOKEN], 8))));
  const error = await poisoned;
  assert.is(error.code, 'INTERNAL');
  assert.match(error.message, /kernel failed on a poisoned row/);
  assert.equal((await neighbour).tokens[0], alone);
  assert.ok(passes.some((p) => p.seq > 1 && p.rows >= 2 && p.failed), 'the two prompts shared a failing prefill pass');
  assert.equal([engine.stats().running, engine.stats().slotsUsedRatio], [0, 0]);
  await engine.close();
});

test('a decode step shared with a poisoned sequence is retried per request: the neighbour keeps stepping', async () => {
  const engine = await loadTiny({ maxBatchSize: 4 });
  const alone = await solo(engine);
  assert.not.ok(alone.includes(POISON_OUTPUT_TOKEN), 'the neighbour never produces the poison itself');
  const { passes } = poisonRunner(engine);
  const neighbour = startNeighbour(engine);
  await neighbour.started;
  // Greedy with a +100 bias: its first token is the poison, which its next decode row carries.
  const biased = samplingParams({ temperature: 0, logitBias: new Map([[POISON_OUTPUT_TOKEN, 100]]) });
  const error = await engineError(() => drain(engine.generate(greedyRequest('poisoned', randomTokens(10, 7), 8, { sampling: biased }))));
  assert.is(error.code, 'INTERNAL');
  assert.equal(await neighbour.done, alone);
  assert.ok(passes.some((p) => p.seq === 1 && p.rows >= 2 && p.failed), 'a decode pass of both failed');
  assert.equal([engine.stats().running, engine.stats().slotsUsedRatio], [0, 0]);
  // The engine serves on as before.
  assert.equal(await solo(engine), alone);
  await engine.close();
});

test.run();
