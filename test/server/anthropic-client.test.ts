// Anthropic's Messages API with the official `@anthropic-ai/sdk` client against the real server:
// messages.create and messages.stream (the SDK checks the event sequence and reassembles the
// message), each answer equal to what /v1/chat/completions gives for the same conversation at
// temperature 0 (system prompt, images-free history with tool_use and tool_result blocks);
// a named tool answers with a tool_use block whose input validates (ajv) against the schema;
// bad input is a 400 in Anthropic's error shape naming the field; x-api-key authenticates.
import Anthropic from '@anthropic-ai/sdk';
import Ajv2020 from 'ajv/dist/2020.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../../src/engine/engine.ts';
import { ensureModel } from '../../models/recipe.ts';
import { loadLongContextEngine, MODEL, postJson, startServer, type TestServer } from './harness.ts';

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false });
let server: TestServer;
let engine: Engine;
let client: Anthropic;
type Json = Record<string, any>;

test.before(async () => {
  engine = await loadLongContextEngine();
  server = await startServer({}, engine);
  client = new Anthropic({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
});
test.after(async () => {
  await server.close();
  await engine.close();
});

/** The text /v1/chat/completions answers for these OpenAI messages, greedily. */
async function chatText(messages: object[], maxTokens: number): Promise<{ text: string; finish: string; usage: Json }> {
  const res = (await (await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, messages, max_tokens: maxTokens, temperature: 0 })).json()) as Json;
  return { text: res.choices[0].message.content, finish: res.choices[0].finish_reason, usage: res.usage };
}

const textOf = (message: Anthropic.Message) => message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

test('messages.create and messages.stream answer as chat completions do, with Anthropic usage and stop reasons', async () => {
  const request = { model: MODEL, max_tokens: 12, temperature: 0, system: 'You are terse.', messages: [{ role: 'user' as const, content: 'Name three colors.' }] };
  const created = await client.messages.create(request);
  const reference = await chatText([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Name three colors.' }], 12);
  assert.equal([created.type, created.role, created.model], ['message', 'assistant', MODEL]);
  assert.is(textOf(created), reference.text);
  assert.is(created.stop_reason, reference.finish === 'length' ? 'max_tokens' : 'end_turn');
  assert.is(created.usage.output_tokens, reference.usage.completion_tokens);
  assert.is(created.usage.input_tokens + (created.usage.cache_read_input_tokens ?? 0), reference.usage.prompt_tokens);

  const stream = client.messages.stream({ ...request, metadata: { user_id: 'someone' } });
  let streamed = '';
  stream.on('text', (text) => (streamed += text));
  const final = await stream.finalMessage();
  assert.is(streamed, reference.text);
  assert.is(textOf(final), reference.text);
  assert.equal([final.stop_reason, final.usage.output_tokens], [created.stop_reason, created.usage.output_tokens]);
});

test('a stop sequence ends the message with stop_reason stop_sequence, as chat completions report it in stop_reason', async () => {
  const base = { model: MODEL, max_tokens: 24, temperature: 0, messages: [{ role: 'user' as const, content: 'Count to ten.' }] };
  const text = textOf(await client.messages.create(base));
  const middle = Math.floor(text.length / 2);
  const stop = text.slice(middle, middle + 2);
  assert.ok(stop.length > 0, `a greedy answer to cut: ${JSON.stringify(text)}`);
  const request = { ...base, stop_sequences: ['never-said', stop] };
  const stopped = await client.messages.create(request);
  assert.equal([stopped.stop_reason, stopped.stop_sequence], ['stop_sequence', stop]);
  assert.is(textOf(stopped), text.slice(0, text.indexOf(stop)));
  const streamed = await client.messages.stream(request).finalMessage();
  assert.equal([streamed.stop_reason, streamed.stop_sequence, textOf(streamed)], ['stop_sequence', stop, textOf(stopped)]);
  const chat = (await (await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, max_tokens: 24, temperature: 0, messages: base.messages, stop: ['never-said', stop] })).json()) as Json;
  assert.equal([chat.choices[0].finish_reason, chat.choices[0].stop_reason], ['stop', stop]);
  const free = (await (await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, max_tokens: 3, temperature: 0, messages: base.messages })).json()) as Json;
  assert.is(free.choices[0].stop_reason, null, 'no stop string, no stop_reason');
});

test('a conversation with tool_use and tool_result blocks renders as the same chat history', async () => {
  const anthropicMessages: Anthropic.MessageParam[] = [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18 C, clear' }, { type: 'text', text: 'Summarize.' }] },
  ];
  const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
  const request = { model: MODEL, max_tokens: 10, temperature: 0, messages: anthropicMessages, tools, tool_choice: { type: 'none' as const } };
  const answer = await client.messages.create(request);
  const res = (await (
    await postJson(`${server.url}/v1/chat/completions`, {
      model: MODEL,
      max_tokens: 10,
      temperature: 0,
      tool_choice: 'none',
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: tools[0]!.input_schema } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18 C, clear' },
        { role: 'user', content: [{ type: 'text', text: 'Summarize.' }] },
      ],
    })
  ).json()) as Json;
  assert.is(textOf(answer), res.choices[0].message.content);
  assert.is(answer.usage.input_tokens + (answer.usage.cache_read_input_tokens ?? 0), res.usage.prompt_tokens);
});

test('a named tool answers with a tool_use block whose input validates, streamed alike', async () => {
  const schema = { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['city', 'days'], additionalProperties: false };
  const request = {
    model: MODEL,
    max_tokens: 80,
    messages: [{ role: 'user' as const, content: 'Forecast for Oslo' }],
    tools: [{ name: 'forecast', input_schema: schema as Anthropic.Tool.InputSchema }],
    tool_choice: { type: 'tool' as const, name: 'forecast' },
  };
  const validate = ajv.compile(schema);
  for (const topK of [51, 52, 53]) {
    // temperature and top_k are fields the API took before the SDK's types dropped them.
    const sampled = { ...request, temperature: 1, top_k: topK };
    const message = await client.messages.create(sampled);
    assert.is(message.stop_reason, 'tool_use');
    const uses = message.content.filter((b) => b.type === 'tool_use');
    assert.is(uses.length, 1);
    assert.is(uses[0]!.type === 'tool_use' && uses[0]!.name, 'forecast');
    assert.ok(validate(uses[0]!.type === 'tool_use' ? uses[0]!.input : null), JSON.stringify(validate.errors));
  }
  const greedyRequest = { ...request, temperature: 0 };
  const greedy = await client.messages.create(greedyRequest);
  const final = await client.messages.stream(greedyRequest).finalMessage();
  const inputOf = (m: Anthropic.Message) => m.content.flatMap((b) => (b.type === 'tool_use' ? [[b.name, b.input]] : []));
  assert.equal(inputOf(final), inputOf(greedy), 'the streamed tool_use (input_json_delta) reassembles into the same block');
});

test('bad input is a 400 in Anthropic\'s shape naming the field; x-api-key authenticates', async () => {
  const refused = async (body: Json, param: RegExp) => {
    const res = await postJson(`${server.url}/v1/messages`, body);
    const json = (await res.json()) as Json;
    assert.is(res.status, 400, JSON.stringify(json));
    assert.is(json.type, 'error');
    assert.is(json.error.type, 'invalid_request_error');
    assert.match(json.error.message, param);
  };
  const ok = { model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] };
  await refused({ ...ok, temperature: 1.5 }, /temperature must be between 0 and 1/);
  await refused({ ...ok, max_tokens: undefined }, /max_tokens/);
  await refused({ ...ok, thinking: { type: 'enabled', budget_tokens: 1024 } }, /thinking is not a field this server implements/);
  await refused({ ...ok, stop_sequences: [''] }, /stop_sequences/);
  await refused({ ...ok, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, /messages\[0\]\.content: content must be a string or an array of content blocks/);
  await refused({ ...ok, tools: [{ name: 'f', input_schema: { type: 'object', properties: { n: { type: 'number', multipleOf: 3 } } } }], tool_choice: { type: 'tool', name: 'f' } }, /tools\[0\]\.input_schema\.properties\.n\.multipleOf: .*not supported/);
  await refused({ ...ok, tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'g' } }, /tool_choice\.name/);
  try {
    await client.messages.create({ ...ok, model: 'no-such-model' } as Anthropic.MessageCreateParamsNonStreaming);
    assert.unreachable('an unknown model is refused');
  } catch (error) {
    assert.instance(error, Anthropic.NotFoundError);
  }

  const secured = await startServer({ apiKey: 'sekret' }, engine);
  try {
    const good = new Anthropic({ baseURL: secured.url, apiKey: 'sekret', maxRetries: 0 });
    assert.is((await good.messages.create({ ...ok, messages: [{ role: 'user', content: 'hi' }] })).type, 'message');
    const bad = new Anthropic({ baseURL: secured.url, apiKey: 'wrong', maxRetries: 0 });
    try {
      await bad.messages.create({ ...ok, messages: [{ role: 'user', content: 'hi' }] });
      assert.unreachable('a wrong x-api-key is refused');
    } catch (error) {
      assert.instance(error, Anthropic.AuthenticationError);
      assert.is(((error as InstanceType<typeof Anthropic.APIError>).error as Json).error.type, 'authentication_error');
    }
  } finally {
    await secured.close();
  }
});

test('an error the engine raises at admission is a JSON error with its status, not an event inside a 200 stream', async () => {
  // One slot and a queue of one: a running stream and a waiting request fill them.
  const full = await Engine.load(ensureModel('tiny', 'fp32'), { maxBatchSize: 1, maxQueueLength: 1, threads: 1 });
  const busy = await startServer({}, full);
  try {
    const running = await postJson(`${busy.url}/v1/completions`, { model: MODEL, prompt: 'a', max_tokens: 200, ignore_eos: true, stream: true });
    const reader = running.body!.getReader();
    await reader.read();
    const waiting = postJson(`${busy.url}/v1/completions`, { model: MODEL, prompt: 'b', max_tokens: 2 });
    for (let i = 0; i < 200 && full.stats().waiting === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.is(full.stats().waiting, 1);
    const anthropic = await postJson(`${busy.url}/v1/messages`, { model: MODEL, max_tokens: 4, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    assert.is(anthropic.status, 429);
    assert.equal(((await anthropic.json()) as Json).error.type, 'rate_limit_error');
    const responses = await postJson(`${busy.url}/v1/responses`, { model: MODEL, input: 'hi', stream: true });
    assert.is(responses.status, 429);
    assert.is(((await responses.json()) as Json).error.code, 'RESOURCE_EXHAUSTED');
    while (!(await reader.read()).done);
    assert.is((await waiting).status, 200);
    assert.is(busy.admission.count, 0, 'the refused streams left no admission ticket behind');
  } finally {
    await busy.close();
    await full.close();
  }
});

test.run();
