// One test per error row of API.md "Errors": status, code and message, on the real server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorBody, toApiError } from '../../server/errors.ts';
import { eventually, MAX_MODEL_LEN, metricValue, MODEL, postJson, sseData, startServer, type TestServer } from './harness.ts';

let server: TestServer;
const chat = { model: MODEL, messages: [{ role: 'user', content: 'hello xllm' }], max_tokens: 4 };

test.before(async () => {
  server = await startServer({ maxConcurrentRequests: 2, maxBodyBytes: 4096 });
});
test.after(() => server.close());

async function expectError(res: Response, status: number, code: string, message: RegExp | string, param?: string | null) {
  assert.is(res.status, status);
  const body = (await res.json()) as { error: { message: string; code: string; param: string | null; type: string } };
  assert.is(body.error.code, code);
  if (typeof message === 'string') assert.is(body.error.message, message);
  else assert.ok(message.test(body.error.message), body.error.message);
  if (param !== undefined) assert.is(body.error.param, param);
  assert.ok(res.headers.get('x-request-id'));
}

test('400 INVALID_ARGUMENT: malformed JSON', async () => {
  const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{"model": ', headers: { 'content-type': 'application/json' } });
  await expectError(res, 400, 'INVALID_ARGUMENT', 'The request body is not valid JSON.', null);
});

test('400 INVALID_ARGUMENT: ill-typed, out-of-range and missing fields name the param', async () => {
  await expectError(await postJson(`${server.url}/v1/chat/completions`, { ...chat, temperature: 3 }), 400, 'INVALID_ARGUMENT', 'temperature must be between 0 and 2', 'temperature');
  await expectError(await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'x', logprobs: 'many' }), 400, 'INVALID_ARGUMENT', /logprobs/, 'logprobs');
  await expectError(await postJson(`${server.url}/v1/sample`, { model: MODEL, prompt: 'x' }), 400, 'INVALID_ARGUMENT', 'selector is required', 'selector');
  await expectError(await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'x', n: 2, best_of: 1 }), 400, 'INVALID_ARGUMENT', /best_of must be at least n/, 'best_of');
});

test('400 INVALID_ARGUMENT: prompt too long, and token ids outside the vocabulary', async () => {
  const long = 'word '.repeat(MAX_MODEL_LEN * 2);
  await expectError(await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: long }), 400, 'INVALID_ARGUMENT', /prompt is too long/, 'prompt');
  await expectError(await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: [1, 99_999_999] }), 400, 'INVALID_ARGUMENT', /outside the vocabulary/, 'prompt[1]');
});

test('400 INVALID_ARGUMENT: images need the vlm backend', async () => {
  const messages = [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] }];
  await expectError(await postJson(`${server.url}/v1/chat/completions`, { ...chat, messages }), 400, 'INVALID_ARGUMENT', /vlm/, 'messages[0].content[1]');
});

test('404 UNKNOWN: model not served, and an unknown endpoint', async () => {
  await expectError(await postJson(`${server.url}/v1/chat/completions`, { ...chat, model: 'gpt-4' }), 404, 'UNKNOWN', 'The model `gpt-4` does not exist.', 'model');
  await expectError(await postJson(`${server.url}/v1/audio/transcriptions`, {}), 404, 'UNKNOWN', 'No such endpoint.');
});

test('404 UNKNOWN: /v1/sample on a non-llm backend', async () => {
  const vlm = await startServer({ backend: 'vlm' });
  try {
    const body = { model: MODEL, prompt: 'a <x>', selector: { type: 'literal', value: '<x>' } };
    await expectError(await postJson(`${vlm.url}/v1/sample`, body), 404, 'UNKNOWN', '/v1/sample is only available on the llm backend.');
  } finally {
    await vlm.close();
  }
});

test('429 RESOURCE_EXHAUSTED at --max-concurrent-requests, with the exact message', async () => {
  const controllers = [new AbortController(), new AbortController()];
  const open = await Promise.all(
    controllers.map((controller) =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ ...chat, max_tokens: 200, ignore_eos: true, stream: true }),
        signal: controller.signal,
      }),
    ),
  );
  assert.equal(open.map((r) => r.status), [200, 200]);
  await expectError(
    await postJson(`${server.url}/v1/chat/completions`, chat),
    429,
    'RESOURCE_EXHAUSTED',
    'The number of concurrent requests has reached the limit.',
  );
  controllers.forEach((c) => c.abort());
  await eventually(() => server.admission.count === 0, 'slots to be released');
});

test('401 UNAUTHENTICATED with --api-key; the probes and /metrics stay open', async () => {
  const secured = await startServer({ apiKey: 'sekret' });
  try {
    await expectError(await postJson(`${secured.url}/v1/chat/completions`, chat), 401, 'UNAUTHENTICATED', 'Missing "Authorization: Bearer" header.');
    await expectError(await postJson(`${secured.url}/v1/chat/completions`, chat, { authorization: 'Bearer wrong' }), 401, 'UNAUTHENTICATED', 'Invalid API key.');
    assert.is((await postJson(`${secured.url}/v1/chat/completions`, chat, { authorization: 'Bearer sekret' })).status, 200);
    for (const path of ['/health', '/ready', '/metrics']) assert.is((await fetch(`${secured.url}${path}`)).status, 200, path);
    assert.is((await fetch(`${secured.url}/is_sleeping`)).status, 401);
  } finally {
    await secured.close();
  }
});

test('413 INVALID_ARGUMENT for a body over --max-body-bytes, sent cleanly (declared and chunked)', async () => {
  const big = JSON.stringify({ ...chat, padding: 'x'.repeat(10_000) });
  await expectError(await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: big }), 413, 'INVALID_ARGUMENT', 'The request body is larger than 4096 bytes.');
  const chunked = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
      controller.close();
    },
  });
  const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: chunked, duplex: 'half' } as RequestInit);
  await expectError(res, 413, 'INVALID_ARGUMENT', /larger than 4096 bytes/);
  assert.is((await fetch(`${server.url}/health`)).status, 200, 'the server is still up');
});

test('503 UNAVAILABLE while sleeping; 409 for /sleep with requests in flight', async () => {
  const controller = new AbortController();
  const streaming = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ ...chat, max_tokens: 200, ignore_eos: true, stream: true }),
    signal: controller.signal,
  });
  assert.is(streaming.status, 200);
  await expectError(await postJson(`${server.url}/sleep`, { model: MODEL, level: 1 }), 409, 'FAILED_PRECONDITION', /in flight/);
  controller.abort();
  await eventually(() => server.admission.count === 0, 'the stream to end');
  // The engine frees a cancelled sequence's slot at its next step.
  await eventually(async () => (await metricValue(server.url, 'xllm_requests_running')) === 0, 'the slot to be freed');

  assert.is((await postJson(`${server.url}/sleep`, { model: MODEL, level: 1 })).status, 200);
  assert.equal(await (await fetch(`${server.url}/is_sleeping`)).json(), { is_sleeping: true });
  await expectError(await postJson(`${server.url}/v1/chat/completions`, chat), 503, 'UNAVAILABLE', 'Model is currently in sleep state.');
  const sample = { model: MODEL, prompt: 'a <x>', selector: { type: 'literal', value: '<x>' } };
  await expectError(await postJson(`${server.url}/v1/sample`, sample), 503, 'UNAVAILABLE', 'Model is currently in sleep state.');
  assert.is((await postJson(`${server.url}/wakeup`, { model: MODEL })).status, 200);
  assert.equal(await (await fetch(`${server.url}/is_sleeping`)).json(), { is_sleeping: false });
  assert.is((await postJson(`${server.url}/v1/chat/completions`, chat)).status, 200);
});

test('500 INTERNAL: unknown failures carry no message, stack or prompt text', () => {
  const body = errorBody(toApiError(new TypeError('cannot read "my secret prompt"')));
  assert.equal(body, { error: { message: 'Internal server error', type: 'internal_error', param: null, code: 'INTERNAL' } });
});

test('an error after the stream started is one error event and no [DONE]', async () => {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ ...chat, max_tokens: 200, ignore_eos: true, stream: true }),
  });
  assert.is(res.status, 200);
  const reader = res.body!.getReader();
  let text = new TextDecoder().decode((await reader.read()).value);
  // A shutdown past its deadline cancels what is in flight: the real mid-stream failure path.
  server.admission.cancelAll('test');
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
  const events = sseData(text);
  assert.not.ok(events.includes('[DONE]'));
  const last = events.at(-1) as { error: { code: string } };
  assert.is(last.error.code, 'UNAVAILABLE');
  await eventually(() => server.admission.count === 0, 'the ticket to be released');
});

test('a client that disconnects mid-stream frees its slot and is logged and counted once', async () => {
  const counted = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith('xllm_requests_total{endpoint="/v1/completions"')).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  };
  const before = await counted();
  const controller = new AbortController();
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 200, ignore_eos: true, stream: true }),
    signal: controller.signal,
  });
  const id = res.headers.get('x-request-id')!;
  await res.body!.getReader().read();
  controller.abort();
  await eventually(() => server.admission.count === 0, 'admission to be released');
  await eventually(async () => (await metricValue(server.url, 'xllm_requests_running')) === 0, 'engine slots to be released');
  const accessLines = () => server.logs.filter((line) => line.includes('"event":"request"') && line.includes(`"request_id":"${id}"`));
  await eventually(() => accessLines().length > 0, 'the access-log line');
  await new Promise((resolve) => setTimeout(resolve, 200)); // room for a second line, were there one
  assert.is(accessLines().length, 1, accessLines().join(''));
  assert.ok(accessLines()[0].includes('"stream_end":"cancelled"'));
  assert.is(await counted(), before + 1);
  assert.is((await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'hi', max_tokens: 2 })).status, 200);
});

test.run();
