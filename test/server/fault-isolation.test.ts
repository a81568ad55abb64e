// Over HTTP: while a greedy stream runs, clients send every kind of bad input. Each gets a 400
// naming its field (never a 5xx), and the stream's tokens are exactly those it gets alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually, metricValue, MODEL, postJson, sseData, startServer, type TestServer } from './harness.ts';

let server: TestServer;
const url = (path: string) => `${server.url}${path}`;
type Json = Record<string, any>;

test.before(async () => {
  // --task rerank keeps every generation route and adds /v1/rerank to poison too.
  server = await startServer({ task: 'rerank' });
});
test.after(() => server.close());

const neighbour = { model: MODEL, prompt: 'the neighbour keeps talking', max_tokens: 48, ignore_eos: true, temperature: 0, logprobs: 0 };
const chat = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };
const completion = { model: MODEL, prompt: 'hi', max_tokens: 4 };
const messages = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };

const poisoned: Array<{ path: string; body: unknown; param: string | null }> = [
  { path: '/v1/completions', body: { ...completion, logit_bias: { '99999999': 5 } }, param: 'logit_bias' },
  { path: '/v1/chat/completions', body: { ...chat, logit_bias: { '99999999': 5 } }, param: 'logit_bias' },
  { path: '/v1/chat/completions', body: { ...chat, logit_bias: { '151936': 5 }, stream: true }, param: 'logit_bias' },
  { path: '/v1/completions', body: { ...completion, prompt: [1, 99_999_999] }, param: 'prompt[1]' },
  { path: '/v1/completions', body: { ...completion, stop_token_ids: [3, 99_999_999] }, param: 'stop_token_ids' },
  { path: '/v1/chat/completions', body: { ...chat, stop_token_ids: [99_999_999], stream: true }, param: 'stop_token_ids' },
  { path: '/detokenize', body: { model: MODEL, tokens: [1, 99_999_999] }, param: 'tokens[1]' },
  { path: '/v1/chat/completions', body: { ...chat, response_format: { type: 'nonsense' } }, param: 'response_format.type' },
  { path: '/v1/chat/completions', body: { ...chat, functions: [{ name: 'f' }] }, param: 'functions' },
  { path: '/v1/chat/completions', body: { ...chat, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { n: { type: 'number', multipleOf: 2 } } } } }], tool_choice: 'required' }, param: 'tools[0].function.parameters.properties.n.multipleOf' },
  { path: '/v1/chat/completions', body: { ...chat, tools: [{ type: 'function', function: {} }] }, param: 'tools[0].function.name' },
  { path: '/v1/completions', body: { ...completion, guided_json: { type: 'array', uniqueItems: true } }, param: 'guided_json.uniqueItems' },
  { path: '/v1/chat/completions', body: { ...chat, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }, param: 'tool_choice.function.name' },
  { path: '/v1/chat/completions', body: { ...chat, stop: '' }, param: 'stop' },
  { path: '/v1/completions', body: { ...completion, top_p: 7 }, param: 'top_p' },
  { path: '/v1/completions', body: { ...completion, beam_width: 2, num_return_sequences: 3 }, param: 'num_return_sequences' },
  { path: '/v1/sample', body: { model: MODEL, prompt: 'a <x>', selector: { type: 'literal', value: '<x>' }, logprobs: 50 }, param: 'logprobs' },
  { path: '/v1/completions', body: '{"model": "', param: null },
  { path: '/v1/responses', body: { model: MODEL, input: 'hi', temperature: 5, stream: true }, param: 'temperature' },
  { path: '/v1/rerank', body: { model: MODEL, query: 'q', documents: [] }, param: 'documents' },
  // This server generates: /v1/embeddings refuses, naming model (bad fields are 400s first).
  { path: '/v1/embeddings', body: { model: MODEL, input: 'a' }, param: 'model' },
  { path: '/v1/embeddings', body: { model: MODEL, input: [1, -2] }, param: 'input[1]' },
  { path: '/v1/rerank', body: { model: MODEL, query: 'q', documents: ['a'], top_n: 0 }, param: 'top_n' },
  { path: '/v1/rerank', body: { model: MODEL, query: 'q', documents: ['x'.repeat(3 * 2 ** 20)] }, param: 'documents[0]' },
  { path: '/v1/responses', body: { model: MODEL, input: 'hi', store: true }, param: 'store' },
  // Anthropic's route answers in Anthropic's error shape, naming the field in the message.
  { path: '/v1/messages', body: { ...messages, temperature: 3 }, param: 'temperature' },
  { path: '/v1/messages', body: { ...messages, stop_sequences: [''], stream: true }, param: 'stop_sequences[0]' },
  { path: '/v1/messages', body: { ...messages, messages: [{ role: 'user', content: 'x'.repeat(3 * 2 ** 20) }] }, param: 'messages' },
  // Megabytes of one letter are refused before tokenizing, which would stall every stream.
  { path: '/v1/chat/completions', body: { ...chat, messages: [{ role: 'user', content: 'x'.repeat(3 * 2 ** 20) }] }, param: 'messages' },
  { path: '/v1/completions', body: { ...completion, prompt: ['hi', 'x'.repeat(3 * 2 ** 20)] }, param: 'prompt[1]' },
];

async function send(path: string, body: unknown): Promise<Response> {
  return typeof body === 'string'
    ? fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    : postJson(url(path), body);
}

/** Token ids of a completions stream (logprobs: 0 carries them). */
function streamedTokens(events: unknown[]): number[] {
  return (events.filter((e) => e !== '[DONE]') as Json[]).flatMap((chunk) => chunk.choices.flatMap((c: Json) => c.logprobs?.token_ids ?? []));
}

test('poisoned requests beside a running stream: 400 naming the field, the stream gives its solo tokens', async () => {
  const solo = (await (await postJson(url('/v1/completions'), neighbour)).json()) as Json;
  const soloTokens: number[] = solo.choices[0].logprobs.token_ids;
  assert.is(soloTokens.length, neighbour.max_tokens);

  const res = await postJson(url('/v1/completions'), { ...neighbour, stream: true });
  assert.is(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value, { stream: true });

  // A client that hangs up mid-stream is one more bad neighbour.
  const hangUp = new AbortController();
  const dropped = await fetch(url('/v1/chat/completions'), { method: 'POST', body: JSON.stringify({ ...chat, max_tokens: 200, ignore_eos: true, stream: true }), signal: hangUp.signal });
  await dropped.body!.getReader().read();
  hangUp.abort();

  const answers = await Promise.all(poisoned.map(({ path, body }) => send(path, body)));
  for (const [i, answer] of answers.entries()) {
    const { path, param } = poisoned[i];
    const body = (await answer.json()) as Json;
    assert.is(answer.status, 400, `${path} ${JSON.stringify(poisoned[i].body)} → ${answer.status} ${JSON.stringify(body).slice(0, 300)}`);
    if (path === '/v1/messages') {
      assert.equal([body.type, body.error.type], ['error', 'invalid_request_error'], JSON.stringify(body));
      assert.ok(body.error.message.startsWith(param), JSON.stringify(body));
    } else assert.equal([body.error.code, body.error.param], ['INVALID_ARGUMENT', param], JSON.stringify(body));
  }

  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  const events = sseData(text);
  assert.is(events.at(-1), '[DONE]');
  assert.equal(streamedTokens(events), soloTokens);
  await eventually(async () => (await metricValue(server.url, 'xllm_requests_running')) === 0, 'the engine to be idle');
  assert.is(server.admission.count, 0);
});

test.run();
