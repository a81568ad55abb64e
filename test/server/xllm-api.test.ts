// Plain fetch for xLLM's fields and endpoints: every example request of the seed page (model
// renamed), beam search, /v1/sample, stop_token_ids, tokenize, health, metrics, and logs that
// never carry prompt or completion text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Admission } from '../../server/admission.ts';
import { createApp } from '../../server/app.ts';
import { defaultConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { createMetrics } from '../../server/metrics.ts';
import { MODEL, postJson, sharedEngine, sseData, startServer, type TestServer } from './harness.ts';

let server: TestServer;
const url = (path: string) => `${server.url}${path}`;
type Json = Record<string, any>;

test.before(async () => {
  server = await startServer();
});
test.after(() => server.close());

test('seed: chat, streaming', async () => {
  const res = await postJson(url('/v1/chat/completions'), {
    model: MODEL,
    max_tokens: 10,
    temperature: 0,
    stream: true,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'hello xllm' },
    ],
  });
  assert.is(res.status, 200);
  assert.ok(res.headers.get('content-type')!.startsWith('text/event-stream'));
  const events = sseData(await res.text());
  assert.is(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1) as Json[];
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === MODEL));
  assert.equal(chunks[0]!.choices[0].delta, { role: 'assistant', content: '' });
  assert.ok(['stop', 'length'].includes(chunks.at(-1)!.choices[0].finish_reason));
});

test('seed: completions, streaming', async () => {
  const res = await postJson(url('/v1/completions'), { model: MODEL, prompt: 'hello xllm', max_tokens: 10, temperature: 0, stream: true });
  const events = sseData(await res.text());
  assert.is(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1) as Json[];
  assert.ok(chunks.every((c) => c.object === 'text_completion'));
  assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null));
  assert.ok(['stop', 'length'].includes(chunks.at(-1)!.choices[0].finish_reason));
});

test('seed: beam search on chat: beam_width choices, best first, with logprobs', async () => {
  const res = await postJson(url('/v1/chat/completions'), {
    model: MODEL,
    max_tokens: 20,
    temperature: 0,
    stream: false,
    beam_width: 2,
    logprobs: true,
    top_logprobs: 4,
    messages: [{ role: 'user', content: '请简短介绍 xLLM。' }],
  });
  assert.is(res.status, 200);
  const body = (await res.json()) as Json;
  assert.is(body.choices.length, 2);
  const scores = body.choices.map((c: Json) => c.logprobs.content.reduce((sum: number, t: Json) => sum + t.logprob, 0));
  assert.ok(scores[0] >= scores[1] - 1e-6, `best first: ${scores}`);
  for (const choice of body.choices) assert.ok(choice.logprobs.content.every((t: Json) => t.top_logprobs.length === 4));
  const tokens = body.choices.reduce((n: number, c: Json) => n + c.logprobs.content.length, 0);
  assert.is(body.usage.completion_tokens, tokens, 'usage sums tokens over all beams');
});

test('seed: beam search on completions, and streamed beam search sends the same beams', async () => {
  const request = { model: MODEL, prompt: '请简短介绍 xLLM。', max_tokens: 20, temperature: 0, beam_width: 2, logprobs: 4 };
  const plain = (await (await postJson(url('/v1/completions'), { ...request, stream: false })).json()) as Json;
  assert.is(plain.choices.length, 2);
  assert.is(plain.choices[0].logprobs.tokens.length, plain.choices[0].logprobs.token_logprobs.length);
  const events = sseData(await (await postJson(url('/v1/completions'), { ...request, stream: true })).text());
  const texts = ['', ''];
  for (const chunk of events.slice(0, -1) as Json[]) for (const c of chunk.choices) texts[c.index] += c.text;
  assert.equal(texts, plain.choices.map((c: Json) => c.text));
});

test('seed: /v1/sample with an exact-token selector, and the no-match case', async () => {
  const tokenized = (await (await postJson(url('/tokenize'), { model: MODEL, prompt: '<|im_start|>' })).json()) as Json;
  assert.is(tokenized.count, 1, 'the selector is one vocabulary token in this model');
  const res = await postJson(url('/v1/sample'), {
    model: MODEL,
    prompt: '问题:<|im_start|> 是否命中。结论:<|im_start|>',
    selector: { type: 'literal', value: '<|im_start|>' },
    logprobs: 5,
    request_id: 'sample-demo-001',
  });
  assert.is(res.status, 200);
  assert.is(res.headers.get('x-request-id'), 'sample-demo-001');
  const body = (await res.json()) as Json;
  assert.is(body.id, 'sample-demo-001');
  assert.is(body.object, 'sample_completion');
  assert.is(body.model, MODEL);
  assert.is(body.choices.length, 2);
  for (const [i, choice] of body.choices.entries()) {
    assert.is(choice.index, i);
    assert.is(choice.finish_reason, 'selector_match');
    assert.is(choice.logprobs.tokens.length, 5);
    assert.is(choice.text, choice.logprobs.tokens[0]);
    const lp = choice.logprobs.token_logprobs;
    assert.equal(lp, [...lp].sort((a: number, b: number) => b - a));
  }
  assert.is(body.usage.completion_tokens, 2);
  assert.is(body.usage.total_tokens, body.usage.prompt_tokens + 2);
  // Its log lines hold ids and counts only (request_id, match_count, model; per match its
  // sample_id, the choice index), never the prompt.
  const lines = server.logs.map((l) => JSON.parse(l) as Json).filter((l) => l.request_id === 'sample-demo-001' && l.event.startsWith('sample'));
  assert.equal(lines.map((l) => Object.keys(l).sort()), [
    ['event', 'level', 'match_count', 'model', 'request_id', 'time'],
    ['event', 'finish_reason', 'level', 'request_id', 'sample_id', 'time'],
    ['event', 'finish_reason', 'level', 'request_id', 'sample_id', 'time'],
  ]);
  assert.equal(lines.map((l) => l.match_count ?? l.sample_id), [2, 0, 1]);
  const none = (await (await postJson(url('/v1/sample'), { model: MODEL, prompt: 'nothing here', selector: { type: 'literal', value: '<|im_start|>' } })).json()) as Json;
  assert.equal(none.choices, []);
  const first = (await (await postJson(url('/v1/sample'), { model: MODEL, prompt: '<|im_start|>x', selector: { type: 'literal', value: '<|im_start|>' } })).json()) as Json;
  assert.equal(first.choices[0], { index: 0, text: '', logprobs: { tokens: [], token_ids: [], token_logprobs: [] }, finish_reason: 'empty_logprobs' });
  assert.is(first.usage.completion_tokens, 0);
});

test('seed: the Python chat example (temperature 0.6, no stream)', async () => {
  const res = await postJson(url('/v1/chat/completions'), {
    model: MODEL,
    messages: [{ role: 'user', content: '列出三个国家和他的首都。' }],
    stream: false,
    temperature: 0.6,
    max_tokens: 8,
  });
  const body = (await res.json()) as Json;
  assert.is(body.choices[0].message.role, 'assistant');
  assert.type(body.choices[0].message.content, 'string');
  assert.type(body.usage.prompt_tokens_details.cached_tokens, 'number');
});

test('stop_token_ids end the choice with finish_reason stop at that token', async () => {
  const request = { model: MODEL, prompt: 'hello xllm', max_tokens: 12, temperature: 0, ignore_eos: true, logprobs: 0 };
  const free = (await (await postJson(url('/v1/completions'), request)).json()) as Json;
  const ids: number[] = free.choices[0].logprobs.token_ids;
  const stopAt = ids[2]!;
  const stopped = (await (await postJson(url('/v1/completions'), { ...request, stop_token_ids: [stopAt] })).json()) as Json;
  assert.is(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].logprobs.token_ids, ids.slice(0, ids.indexOf(stopAt) + 1));
});

test('request_id names the response and x-request-id; a client x-request-id is echoed', async () => {
  const res = await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x', max_tokens: 1, request_id: 'mine-1' });
  assert.is(((await res.json()) as Json).id, 'mine-1');
  assert.is(res.headers.get('x-request-id'), 'mine-1');
  const streamed = await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x', max_tokens: 1, stream: true, request_id: 'mine-2' });
  assert.is(streamed.headers.get('x-request-id'), 'mine-2', 'a stream carries it too');
  assert.is((sseData(await streamed.text())[0] as Json).id, 'mine-2');
  const tooLong = await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x '.repeat(400), max_tokens: 1, request_id: 'mine-3' });
  assert.is(tooLong.status, 400);
  assert.is(tooLong.headers.get('x-request-id'), 'mine-3', 'an error in preparing the prompt carries it too');
  const echoed = await fetch(url('/health'), { headers: { 'x-request-id': 'lb-42' } });
  assert.is(echoed.headers.get('x-request-id'), 'lb-42');
});

test("xLLM's service_request_id is echoed like request_id (which wins when both are given)", async () => {
  const res = await postJson(url('/v1/chat/completions'), { model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 1, service_request_id: 'svc-7' });
  assert.is(((await res.json()) as Json).id, 'svc-7');
  assert.is(res.headers.get('x-request-id'), 'svc-7');
  const both = await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x', max_tokens: 1, service_request_id: 'svc-8', request_id: 'req-8' });
  assert.is(((await both.json()) as Json).id, 'req-8');
});

test("beam search with xLLM's num_return_sequences returns that many of the best beams", async () => {
  const request = { model: MODEL, prompt: '请简短介绍 xLLM。', max_tokens: 12, beam_width: 3, logprobs: 3 };
  const all = (await (await postJson(url('/v1/completions'), request)).json()) as Json;
  assert.is(all.choices.length, 3);
  const two = (await (await postJson(url('/v1/completions'), { ...request, num_return_sequences: 2 })).json()) as Json;
  assert.equal(two.choices.map((c: Json) => c.text), all.choices.slice(0, 2).map((c: Json) => c.text));
  const tokens = two.choices.reduce((n: number, c: Json) => n + c.logprobs.tokens.length, 0);
  assert.is(two.usage.completion_tokens, tokens, 'usage counts the returned beams');
  const streamed = sseData(await (await postJson(url('/v1/completions'), { ...request, num_return_sequences: 2, stream: true })).text());
  const indices = new Set((streamed.slice(0, -1) as Json[]).flatMap((chunk) => chunk.choices.map((c: Json) => c.index)));
  assert.equal([...indices].sort(), [0, 1]);
  // Without beam search it is n's synonym.
  const sampled = (await (await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x', max_tokens: 2, num_return_sequences: 2 })).json()) as Json;
  assert.is(sampled.choices.length, 2);
});

test("/sleep and /wakeup take xLLM's body: model_id and master_status (2 = deep sleep)", async () => {
  assert.equal(await (await postJson(url('/sleep'), { model_id: MODEL, master_status: 2 })).json(), { is_sleeping: true });
  assert.is((await sharedEngine()).engine.stats().sleeping, 2, 'master_status 2 is deep sleep');
  assert.equal(await (await fetch(url('/is_sleeping'))).json(), { is_sleeping: true });
  const asleep = await fetch(url('/ready'));
  assert.equal([asleep.status, await asleep.json()], [503, { status: 'not_ready', reason: 'sleeping' }], 'a sleeping model takes no traffic');
  assert.is((await fetch(url('/health'))).status, 200, 'but the server is alive');
  assert.is((await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x', max_tokens: 1 })).status, 503);
  const disagree = await postJson(url('/wakeup'), { model: MODEL, model_id: 'other' });
  assert.is(disagree.status, 400);
  assert.equal(await (await postJson(url('/wakeup'), { model_id: MODEL, master_status: 2 })).json(), { is_sleeping: false });
  assert.equal(await (await fetch(url('/ready'))).json(), { status: 'ready' });
  assert.is((await postJson(url('/v1/completions'), { model: MODEL, prompt: 'x', max_tokens: 1 })).status, 200);
  const bad = (await (await postJson(url('/sleep'), { model_id: MODEL, master_status: 3 })).json()) as Json;
  assert.equal([bad.error.param, bad.error.message], ['master_status', 'master_status must be 1 or 2']);
});

test('/health and /ready: 503 with the reason while the model loads and after it failed to load', async () => {
  let fail!: (error: Error) => void;
  const loading = new Promise<never>((_, reject) => (fail = reject));
  const logs: string[] = [];
  const app = createApp({ engine: loading, config: defaultConfig, metrics: createMetrics(), logger: createLogger('info', 'json', (line) => logs.push(line)), modelNames: [MODEL], admission: new Admission(0) });
  const probe = async (path: string) => {
    const res = await app.fetch(new Request(`http://replica${path}`));
    return [res.status, ((await res.json()) as Json).reason];
  };
  assert.equal(await probe('/health'), [503, 'model is loading']);
  assert.equal(await probe('/ready'), [503, 'model is loading']);
  fail(new Error('no such file'));
  await loading.catch(() => undefined);
  assert.equal(await probe('/health'), [503, 'model failed to load']);
  assert.equal(await probe('/ready'), [503, 'model failed to load']);
  assert.ok(logs.some((line) => line.includes('model_load_failed')));
});

test('/tokenize and /detokenize round-trip; chat messages use the template', async () => {
  const tokenized = (await (await postJson(url('/tokenize'), { model: MODEL, prompt: 'hello 世界' })).json()) as Json;
  assert.is(tokenized.count, tokenized.tokens.length);
  assert.is(tokenized.max_model_len, 256);
  const back = (await (await postJson(url('/detokenize'), { model: MODEL, tokens: tokenized.tokens })).json()) as Json;
  assert.is(back.prompt, 'hello 世界');
  const chat = (await (await postJson(url('/tokenize'), { model: MODEL, messages: [{ role: 'user', content: 'hi' }] })).json()) as Json;
  const rendered = (await (await postJson(url('/detokenize'), { model: MODEL, tokens: chat.tokens })).json()) as Json;
  assert.ok(rendered.prompt.includes('<|im_start|>user\nhi<|im_end|>'));
  assert.ok(rendered.prompt.endsWith('<|im_start|>assistant\n'));
});

test('/health, /metrics names, and logs free of prompt and completion text', async () => {
  assert.equal(await (await fetch(url('/health'))).json(), { status: 'healthy' });
  const secret = 'zebra-violet-umbrella';
  const res = await postJson(url('/v1/completions'), { model: MODEL, prompt: `${secret} says`, max_tokens: 6, temperature: 0 });
  const raw = new Uint8Array(await res.arrayBuffer());
  const completion = (JSON.parse(new TextDecoder().decode(raw)) as Json).choices[0].text as string;
  assert.is(res.headers.get('content-length'), String(raw.byteLength));
  const metrics = await (await fetch(url('/metrics'))).text();
  for (const name of [
    'xllm_requests_total',
    'xllm_requests_running',
    'xllm_requests_waiting',
    'xllm_time_to_first_token_seconds',
    'xllm_inter_token_latency_seconds',
    'xllm_e2e_request_latency_seconds',
    'xllm_kv_slots_used_ratio',
    'xllm_kv_cache_bytes',
    'xllm_prompt_tokens_total',
    'xllm_generation_tokens_total',
    'xllm_prefix_cache_hits_total',
    'process_resident_memory_bytes',
  ]) {
    assert.ok(metrics.includes(`\n${name}`) || metrics.includes(`# TYPE ${name}`), name);
  }
  assert.ok(/xllm_requests_total\{endpoint="\/v1\/completions",status="200"\} [1-9]/.test(metrics));
  assert.ok(/\nxllm_kv_cache_bytes [1-9]\d*\n/.test(metrics), 'the KV buffers\' size');
  const logs = server.logs.join('');
  assert.ok(logs.includes('"endpoint":"/v1/completions"'));
  assert.ok(logs.includes(`"response_bytes":${raw.byteLength},`), 'a JSON response is logged with its size');
  assert.not.ok(logs.includes(secret));
  if (completion.trim().length >= 4) assert.not.ok(logs.includes(JSON.stringify(completion).slice(1, -1)));
});

test.run();
