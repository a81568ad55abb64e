import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamplingParamError, samplingParams } from '../../src/sampling/params.ts';

function paramOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof SamplingParamError) return error.param;
    throw error;
  }
  return undefined;
}

test('defaults are valid and off', () => {
  const p = samplingParams();
  // Off means: the plain softmax, no truncation, no penalties (vLLM's defaults).
  const off = { temperature: 1, topP: 1, topK: -1, minP: 0, presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1, logitBias: [] };
  assert.equal({ ...p, logitBias: [...p.logitBias] }, off);
});

test('out-of-range values are rejected naming the API parameter', () => {
  const bad: Array<[Parameters<typeof samplingParams>[0], string]> = [
    [{ temperature: 2.5 }, 'temperature'],
    [{ temperature: NaN }, 'temperature'],
    [{ topP: 0 }, 'top_p'],
    [{ topP: 1.01 }, 'top_p'],
    [{ topK: -2 }, 'top_k'],
    [{ topK: 1.5 }, 'top_k'],
    [{ minP: -0.1 }, 'min_p'],
    [{ presencePenalty: 2.1 }, 'presence_penalty'],
    [{ frequencyPenalty: -3 }, 'frequency_penalty'],
    [{ repetitionPenalty: 0 }, 'repetition_penalty'],
    [{ seed: 1.5 }, 'seed'],
    [{ logitBias: new Map([[-1, 1]]) }, 'logit_bias'],
    [{ logitBias: new Map([[3, 101]]) }, 'logit_bias'],
  ];
  for (const [partial, param] of bad) assert.is(paramOf(() => samplingParams(partial)), param, JSON.stringify(partial));
  assert.is(paramOf(() => samplingParams({ logitBias: new Map([[10, 1]]) }, 10)), 'logit_bias');
  assert.throws(() => samplingParams({ topP: 0 }), /top_p must be in \(0, 1\], got 0/);
});

test('edge values are accepted', () => {
  for (const partial of [{ temperature: 0 }, { temperature: 2 }, { topP: 1 }, { topK: -1 }, { topK: 0 }, { topK: 1 }, { minP: 1 }, { seed: -5 }]) {
    assert.is(paramOf(() => samplingParams(partial)), undefined, JSON.stringify(partial));
  }
});

test.run();
