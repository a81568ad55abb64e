// Structured output over HTTP with the official `openai` client: `chat.completions.parse()` with
// a zod schema, json_object, vLLM's guided_choice / guided_regex / structured_outputs, and the
// 400s for what cannot be enforced.
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { MODEL, postJson, sseData, startServer, type TestServer } from './harness.ts';

let server: TestServer;
let client: OpenAI;
type Json = Record<string, any>;

test.before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
test.after(() => server.close());

const Person = z.object({
  name: z.string().max(12),
  age: z.number().int().min(0).max(120),
  kind: z.enum(['friend', 'colleague', 'family']),
  tags: z.array(z.string().max(6)).max(3),
  address: z.object({ city: z.string().max(10), zip: z.string().regex(/^\d{5}$/) }).nullable(),
});

test('chat.completions.parse() with a zod schema returns a parsed object for 50 seeds at temperature 1', async () => {
  for (let seed = 1; seed <= 50; seed++) {
    const completion = await client.chat.completions.parse({
      model: MODEL,
      messages: [{ role: 'user', content: `Describe person number ${seed}.` }],
      response_format: zodResponseFormat(Person, 'person'),
      temperature: 1,
      seed,
      max_tokens: 400,
    });
    const choice = completion.choices[0]!;
    assert.is(choice.finish_reason, 'stop', `seed ${seed}: ${choice.message.content}`);
    assert.ok(choice.message.parsed, `seed ${seed}: nothing parsed from ${choice.message.content}`);
    assert.equal(Person.parse(choice.message.parsed), choice.message.parsed);
  }
});

test('json_object output parses as an object; a stream reassembles into the same JSON', async () => {
  for (let seed = 1; seed <= 5; seed++) {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'JSON please' }], response_format: { type: 'json_object' as const }, temperature: 1, seed, max_tokens: 300 };
    const plain = await client.chat.completions.create(request);
    if (plain.choices[0]!.finish_reason === 'length') continue; // an open object cut off by max_tokens
    const value = JSON.parse(plain.choices[0]!.message.content!);
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.delta.content ?? '';
    assert.is(streamed, plain.choices[0]!.message.content);
  }
});

test("vLLM's guided_choice, guided_regex and structured_outputs hold on both endpoints", async () => {
  const choices = ['alpha', 'beta', 'gamma'];
  for (let seed = 1; seed <= 4; seed++) {
    const chat = (await (await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'pick' }], guided_choice: choices, seed })).json()) as Json;
    assert.ok(choices.includes(chat.choices[0].message.content), chat.choices[0].message.content);
    const regex = (await (await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'date:', guided_regex: '\\d{4}-\\d{2}-\\d{2}', seed, n: 2 })).json()) as Json;
    for (const c of regex.choices) assert.match(c.text, /^\d{4}-\d{2}-\d{2}$/);
    const so = (await (await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'x', structured_outputs: { json: JSON.stringify({ type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, minItems: 1, maxItems: 4 }) }, seed })).json()) as Json;
    const array = JSON.parse(so.choices[0].text) as number[];
    assert.ok(Array.isArray(array) && array.length >= 1 && array.length <= 4 && array.every((n) => Number.isInteger(n) && n >= 0 && n <= 9), so.choices[0].text);
  }
  const streamed = sseData(await (await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'x', structured_outputs: { choice: choices }, stream: true })).text());
  const text = (streamed.slice(0, -1) as Json[]).map((c) => c.choices[0]?.text ?? '').join('');
  assert.ok(choices.includes(text), text);
});

test('what cannot be enforced is a 400 naming the field and keyword', async () => {
  const chat = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] };
  const cases: Array<[object, string, RegExp]> = [
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { n: { type: 'number', multipleOf: 2 } } } } } }, 'response_format.json_schema.schema.properties.n.multipleOf', /multipleOf is not supported/],
    [{ guided_json: { type: 'string', format: 'ipv4' } }, 'guided_json.format', /format "ipv4" is not supported/],
    [{ guided_regex: '(a)\\1' }, 'guided_regex', /backreferences/],
    [{ guided_json: '{not json' }, 'guided_json', /not valid JSON/],
    [{ guided_choice: ['a'], guided_regex: 'b' }, 'guided_choice', /guided_choice cannot be combined with guided_regex/],
    [{ structured_outputs: { regex: 'a', choice: ['b'] } }, 'structured_outputs', /exactly one/],
    [{ response_format: { type: 'grammar' } }, 'response_format.type', /response_format.type must be one of/],
    [{ response_format: { type: 'json_object' }, ignore_eos: true }, 'ignore_eos', /ignore_eos cannot be combined/],
  ];
  for (const [extra, param, message] of cases) {
    const res = await postJson(`${server.url}/v1/chat/completions`, { ...chat, ...extra });
    const body = (await res.json()) as Json;
    assert.is(res.status, 400, JSON.stringify(extra));
    assert.is(body.error.param, param, JSON.stringify(body));
    assert.match(body.error.message, message);
  }
});

test.run();
