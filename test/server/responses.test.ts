// OpenAI's Responses API with the official `openai` client against the real server:
// responses.create and responses.stream (the SDK checks the event sequence and rebuilds the
// response) answer as /v1/chat/completions does for the same conversation at temperature 0;
// function tools give function_call items whose arguments validate (ajv), streamed alike;
// function_call / function_call_output history renders as chat tool history; text.format
// json_schema output parses and validates; what is not served (store, previous_response_id)
// is a 400 naming the field.
import Ajv2020 from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../../src/engine/engine.ts';
import { loadLongContextEngine, MODEL, postJson, startServer, type TestServer } from './harness.ts';

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false });
let server: TestServer;
let engine: Engine;
let client: OpenAI;
type Json = Record<string, any>;

test.before(async () => {
  engine = await loadLongContextEngine();
  server = await startServer({}, engine);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
test.after(async () => {
  await server.close();
  await engine.close();
});

async function chat(body: Json): Promise<Json> {
  return (await (await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, temperature: 0, ...body })).json()) as Json;
}

test('responses.create and responses.stream answer as chat completions do', async () => {
  const request = { model: MODEL, instructions: 'You are terse.', input: 'Name three colors.', max_output_tokens: 12, temperature: 0 };
  const created = await client.responses.create(request);
  const reference = await chat({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Name three colors.' }], max_tokens: 12 });
  assert.equal([created.object, created.model], ['response', MODEL]);
  assert.is(created.output_text, reference.choices[0].message.content);
  assert.is(created.status, reference.choices[0].finish_reason === 'length' ? 'incomplete' : 'completed');
  assert.equal([created.usage!.input_tokens, created.usage!.output_tokens], [reference.usage.prompt_tokens, reference.usage.completion_tokens]);

  const stream = client.responses.stream(request);
  let deltas = '';
  stream.on('response.output_text.delta', (event) => (deltas += event.delta));
  const final = await stream.finalResponse();
  assert.is(deltas, created.output_text);
  assert.is(final.output_text, created.output_text);
  assert.equal([final.status, final.usage!.output_tokens], [created.status, created.usage!.output_tokens]);
});

test('function_call and function_call_output items render as the chat tool history', async () => {
  const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
  const answer = await client.responses.create({
    model: MODEL,
    max_output_tokens: 10,
    temperature: 0,
    tools: [{ type: 'function', name: 'get_weather', description: 'Weather of a city', parameters, strict: null }],
    tool_choice: 'none',
    input: [
      { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '18 C, clear' },
      { role: 'user', content: 'Summarize.' },
    ],
  });
  const reference = await chat({
    max_tokens: 10,
    tool_choice: 'none',
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '18 C, clear' },
      { role: 'user', content: 'Summarize.' },
    ],
  });
  assert.is(answer.output_text, reference.choices[0].message.content);
  assert.is(answer.usage!.input_tokens, reference.usage.prompt_tokens);
});

test('a named function gives function_call items whose arguments validate, streamed alike; json_schema text validates', async () => {
  const parameters = { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['city', 'days'], additionalProperties: false };
  const validate = ajv.compile(parameters);
  const request = {
    model: MODEL,
    max_output_tokens: 80,
    input: 'Forecast for Oslo',
    tools: [{ type: 'function' as const, name: 'forecast', parameters, strict: true }],
    tool_choice: { type: 'function' as const, name: 'forecast' },
  };
  for (const temperature of [1, 0.7]) {
    const response = await client.responses.create({ ...request, temperature });
    const calls = response.output.filter((o) => o.type === 'function_call');
    assert.is(calls.length, 1);
    assert.ok(calls[0]!.type === 'function_call' && validate(JSON.parse(calls[0]!.arguments)), JSON.stringify(validate.errors));
  }
  const callOf = (r: OpenAI.Responses.Response) => r.output.flatMap((o) => (o.type === 'function_call' ? [[o.name, o.arguments]] : []));
  const greedy = await client.responses.create({ ...request, temperature: 0 });
  const streamed = await client.responses.stream({ ...request, temperature: 0 }).finalResponse();
  assert.equal(callOf(streamed), callOf(greedy));

  const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer', minimum: 0, maximum: 120 } }, required: ['name', 'age'], additionalProperties: false };
  const structured = await client.responses.create({ model: MODEL, input: 'A person', max_output_tokens: 60, temperature: 1, text: { format: { type: 'json_schema', name: 'person', schema, strict: true } } });
  const checker = ajv.compile(schema);
  assert.ok(checker(JSON.parse(structured.output_text)), structured.output_text);
});

test('what is not served is a 400 naming the field', async () => {
  const refused = async (body: Json, param: string) => {
    const res = await postJson(`${server.url}/v1/responses`, { model: MODEL, input: 'hi', ...body });
    const json = (await res.json()) as Json;
    assert.is(res.status, 400, JSON.stringify(json));
    assert.is(json.error.param, param, JSON.stringify(json));
  };
  await refused({ store: true }, 'store');
  await refused({ previous_response_id: 'resp_1' }, 'previous_response_id');
  await refused({ max_output_tokens: 0 }, 'max_output_tokens');
  await refused({ text: { format: { type: 'json_schema', name: 'x', schema: { type: 'number', multipleOf: 2 } } } }, 'text.format.schema.multipleOf');
  await refused({ tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'function', name: 'g' } }, 'tool_choice.name');
  await refused({ tools: [{ type: 'web_search' }] }, 'tools[0].type');
});

test.run();
