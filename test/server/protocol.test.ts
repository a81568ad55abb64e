// Schema validation → the exact 400 body of API.md ("Errors"), and the field → engine mapping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorBody, fromZodError, type ErrorBody } from '../../server/errors.ts';
import { chatGenerationRequest, chatRequestSchema } from '../../server/protocol/chat.ts';
import { completionGenerationRequest, completionRequestSchema } from '../../server/protocol/completions.ts';
import { sampleRequestSchema } from '../../server/protocol/sample.ts';
import { TOOL_CALL_PARSERS } from '../../server/tools/parsers.ts';
import type { z } from 'zod';

function rejection(schema: z.ZodType, body: unknown): ErrorBody['error'] {
  const parsed = schema.safeParse(body);
  if (parsed.success) throw new Error(`accepted ${JSON.stringify(body)}`);
  return errorBody(fromZodError(parsed.error)).error;
}

const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const tools = { syntax: TOOL_CALL_PARSERS.qwen.syntax, auto: true };
const completion = { model: 'm', prompt: 'hi' };
const sampleBody = { model: 'm', prompt: 'a <x> b', selector: { type: 'literal', value: '<x>' } };

test('/v1/sample errors carry the exact messages of API.md', () => {
  const cases: Array<[object, string, string]> = [
    [{ ...sampleBody, model: undefined }, 'model is required', 'model'],
    [{ ...sampleBody, prompt: undefined }, 'prompt is required', 'prompt'],
    [{ ...sampleBody, selector: undefined }, 'selector is required', 'selector'],
    [{ ...sampleBody, selector: { type: 'regex', value: 'x' } }, 'selector.type must be literal', 'selector.type'],
    [{ ...sampleBody, selector: { type: 'literal' } }, 'selector.value is required', 'selector.value'],
    [{ ...sampleBody, logprobs: 6 }, 'logprobs must be between 1 and 5', 'logprobs'],
    [{ ...sampleBody, logprobs: 0 }, 'logprobs must be between 1 and 5', 'logprobs'],
  ];
  for (const [body, message, param] of cases) {
    assert.equal(rejection(sampleRequestSchema, body), { message, type: 'invalid_request_error', param, code: 'INVALID_ARGUMENT' });
  }
});

test('out-of-range and ill-typed fields are rejected naming the param', () => {
  const cases: Array<[object, string, RegExp]> = [
    [{ temperature: 2.5 }, 'temperature', /temperature must be between 0 and 2/],
    [{ temperature: 'hot' }, 'temperature', /temperature must be a number/],
    [{ top_p: 0 }, 'top_p', /top_p must be greater than 0/],
    [{ top_k: 0 }, 'top_k', /top_k must be -1/],
    [{ min_p: 1.5 }, 'min_p', /min_p/],
    [{ presence_penalty: -3 }, 'presence_penalty', /between -2 and 2/],
    [{ repetition_penalty: 0 }, 'repetition_penalty', /greater than 0/],
    [{ n: 0 }, 'n', /n must be an integer between 1/],
    [{ n: 2, best_of: 1 }, 'best_of', /best_of must be at least n/],
    [{ beam_width: 2, n: 2 }, 'n', /beam search/],
    [{ length_penalty: 1 }, 'length_penalty', /beam search/],
    [{ stream_options: { include_usage: true } }, 'stream_options', /only allowed when stream is true/],
    [{ stop: Array(17).fill('x') }, 'stop', /at most 16/],
    [{ stop_token_ids: [-1] }, 'stop_token_ids[0]', /stop_token_ids/],
    [{ max_tokens: 0 }, 'max_tokens', /at least 1/],
    [{ seed: 1.5 }, 'seed', /seed must be an integer/],
    [{ logit_bias: { x: 1 } }, 'logit_bias', /keys must be token ids/],
    [{ logit_bias: { '1': 101 } }, 'logit_bias.1', /between -100 and 100/],
    [{ top_logprobs: 3 }, 'top_logprobs', /requires logprobs to be true/],
    [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs', /between 0 and 20/],
    [{ beam_width: 2, top_logprobs: 0 }, 'top_logprobs', /top_logprobs sets the beam candidates and must be at least 1/],
    [{ messages: [] }, 'messages', /must not be empty/],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /role must be one of/],
    [{ messages: [{ role: 'user', content: 3 }] }, 'messages[0].content', /content must be a string or an array/],
  ];
  for (const [patch, param, message] of cases) {
    const error = rejection(chatRequestSchema, { ...chat, ...patch });
    assert.is(error.param, param, JSON.stringify(patch));
    assert.ok(message.test(error.message), `${JSON.stringify(patch)} → ${error.message}`);
    assert.is(error.code, 'INVALID_ARGUMENT');
  }
  assert.is(rejection(completionRequestSchema, { model: 'm' }).message, 'prompt is required');
  assert.is(rejection(completionRequestSchema, { ...completion, logprobs: 21 }).param, 'logprobs');
  assert.is(rejection(completionRequestSchema, { ...completion, prompt: [] }).param, 'prompt');
  assert.is(rejection(completionRequestSchema, { ...completion, beam_width: 2, logprobs: 0 }).param, 'logprobs');
});

test('unknown fields are refused naming the field, never ignored; nulls read as absent', () => {
  const refused: Array<[z.ZodType, object, string]> = [
    [chatRequestSchema, { ...chat, frobnicate: 1 }, 'frobnicate'],
    [chatRequestSchema, { ...chat, functions: [] }, 'functions'],
    [chatRequestSchema, { ...chat, messages: [{ role: 'user', content: 'x', audio: {} }] }, 'messages[0].audio'],
    [chatRequestSchema, { ...chat, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } }, 'stream_options.continuous_usage_stats'],
    [completionRequestSchema, { ...completion, suffix: 'x' }, 'suffix'],
    [sampleRequestSchema, { ...sampleBody, selector: { ...sampleBody.selector, flags: 'i' } }, 'selector.flags'],
  ];
  for (const [schema, body, param] of refused) {
    const error = rejection(schema, body);
    assert.equal([error.param, error.code], [param, 'INVALID_ARGUMENT']);
    assert.is(error.message, `${param} is not a field this server implements; it is refused rather than ignored`);
  }
  assert.equal(rejection(chatRequestSchema, { ...chat, response_format: { type: 'nonsense' } }).param, 'response_format.type');
  assert.equal(rejection(chatRequestSchema, { ...chat, stop: '' }).param, 'stop');
  // What is taken: plain-text output asked for explicitly, OpenAI's `user`, xLLM's service_request_id.
  const parsed = chatRequestSchema.parse({ ...chat, user: 'u', response_format: { type: 'text' }, service_request_id: 'svc-1', stop: null, temperature: null });
  const request = chatGenerationRequest(parsed, {}, tools);
  assert.is(request.stop, undefined);
  assert.is(request.sampling.temperature, 1);
});

test('fields map onto the engine request: user value, then server default, then spec default', () => {
  const body = chatRequestSchema.parse({ ...chat, temperature: 0, top_k: 5, stop: 'x', max_completion_tokens: 7, max_tokens: 9, seed: 3 });
  const request = chatGenerationRequest(body, { temperature: 0.7, topP: 0.9 }, tools);
  assert.is(request.sampling.temperature, 0);
  assert.is(request.sampling.topP, 0.9);
  assert.is(request.sampling.topK, 5);
  assert.is(request.sampling.minP, 0);
  assert.is(request.sampling.seed, 3);
  assert.equal(request.stop, ['x']);
  assert.is(request.maxTokens, 7, 'max_completion_tokens wins over max_tokens');
  assert.is(request.logprobs, undefined);
  assert.is(request.beam, undefined);
});

test('beam search candidates come from top_logprobs (chat) and logprobs (completions), else the width', () => {
  const seedChat = chatGenerationRequest(chatRequestSchema.parse({ ...chat, beam_width: 2, logprobs: true, top_logprobs: 4 }), {}, tools);
  assert.equal(seedChat.beam, { width: 2, candidatesPerBeam: 4, lengthPenalty: undefined });
  assert.is(seedChat.logprobs, 4);
  const chatDefault = chatGenerationRequest(chatRequestSchema.parse({ ...chat, beam_width: 3 }), {}, tools);
  assert.equal(chatDefault.beam, { width: 3, candidatesPerBeam: 3, lengthPenalty: undefined });
  assert.is(chatDefault.logprobs, undefined, 'chat beam search returns logprobs only when asked, as completions does');
  const candidatesOnly = chatGenerationRequest(chatRequestSchema.parse({ ...chat, beam_width: 2, top_logprobs: 5 }), {}, tools);
  assert.equal([candidatesOnly.beam?.candidatesPerBeam, candidatesOnly.logprobs], [5, undefined]);
  const seedCompletion = completionGenerationRequest(completionRequestSchema.parse({ ...completion, beam_width: 2, logprobs: 4 }), {});
  assert.equal(seedCompletion.beam, { width: 2, candidatesPerBeam: 4, lengthPenalty: undefined });
  const echo = completionGenerationRequest(completionRequestSchema.parse({ ...completion, echo: true, logprobs: 2 }), {});
  assert.is(echo.promptLogprobs, 2);
  const bias = completionGenerationRequest(completionRequestSchema.parse({ ...completion, logit_bias: { '5': -100 } }), {});
  assert.equal([...bias.sampling.logitBias], [[5, -100]]);
});

test.run();
