// Tool calling over HTTP with the official `openai` client: tool_choice "required" and a named
// function give tool_calls whose arguments validate (ajv) against the function's parameters;
// streamed tool-call deltas reassemble into the non-streamed calls; history with calls and
// tool results renders through the model's template; malformed tools are 400s. And the message
// splitter (tool calls and reasoning out of the text) on crafted text, whole and streamed.
import Ajv2020 from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageSplitter, splitMessage, type MessagePart } from '../../server/format/chat-message.ts';
import { REASONING_PARSERS, TOOL_CALL_PARSERS } from '../../server/tools/parsers.ts';
import { ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { loadLongContextEngine, MODEL, postJson, startServer, type TestServer } from './harness.ts';

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false });
let server: TestServer;
/** The same engine behind --reasoning-parser qwen3. */
let reasoningServer: TestServer;
let engine: Engine;
let client: OpenAI;
type Json = Record<string, any>;

test.before(async () => {
  engine = await loadLongContextEngine();
  server = await startServer({}, engine);
  reasoningServer = await startServer({ reasoningParser: 'qwen3' }, engine);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
test.after(async () => {
  await server.close();
  await reasoningServer.close();
  await engine.close();
});

const TOOLS: OpenAI.Chat.Completions.ChatCompletionFunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 16 }, unit: { enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', pattern: '^[A-Z][a-z]{2,8}/[A-Z][a-z]{2,8}$' } }, required: ['zone'], additionalProperties: false } },
  },
];
const validators = new Map(TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters!)]));
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris, and the time in Tokyo?' }];

function checkCalls(calls: OpenAI.Chat.Completions.ChatCompletionMessageToolCall[] | undefined, names: string[]): void {
  assert.ok(calls && calls.length > 0, 'tool_calls');
  for (const call of calls!) {
    assert.is(call.type, 'function');
    assert.match(call.id, /^call_/);
    const fn = (call as { function: { name: string; arguments: string } }).function;
    assert.ok(names.includes(fn.name), fn.name);
    const args = JSON.parse(fn.arguments);
    assert.ok(validators.get(fn.name)!(args), `${fn.name}(${fn.arguments}): ${JSON.stringify(validators.get(fn.name)!.errors)}`);
  }
}

test('tool_choice "required": calls of the tools whose arguments validate, finish_reason tool_calls', async () => {
  for (let seed = 1; seed <= 10; seed++) {
    const completion = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, tool_choice: 'required', temperature: 1, seed, max_tokens: 300 });
    const choice = completion.choices[0]!;
    assert.is(choice.finish_reason, 'tool_calls', JSON.stringify(choice.message));
    assert.is(choice.message.content, null);
    checkCalls(choice.message.tool_calls, ['get_weather', 'get_time']);
  }
  const single = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, tool_choice: 'required', parallel_tool_calls: false, seed: 3, max_tokens: 300 });
  assert.is(single.choices[0]!.message.tool_calls!.length, 1, 'parallel_tool_calls false: one call');
});

test('a named function: exactly one call of it', async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages,
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      temperature: 1,
      seed,
      max_tokens: 200,
    });
    const calls = completion.choices[0]!.message.tool_calls!;
    assert.is(calls.length, 1);
    checkCalls(calls, ['get_time']);
  }
});

test('streamed tool-call deltas reassemble into exactly the non-streamed calls', async () => {
  for (let seed = 1; seed <= 5; seed++) {
    const request = { model: MODEL, messages, tools: TOOLS, tool_choice: 'required' as const, temperature: 1, seed, max_tokens: 300 };
    const plain = (await client.chat.completions.create(request)).choices[0]!.message.tool_calls!;
    const calls: Array<{ name: string; arguments: string }> = [];
    let finish: string | null = null;
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls[delta.index] ??= { name: '', arguments: '' };
        calls[delta.index].name += delta.function?.name ?? '';
        calls[delta.index].arguments += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(calls, plain.map((c) => ({ name: (c as Json).function.name, arguments: (c as Json).function.arguments })));
    assert.is(finish, 'tool_calls');
  }
});

test('history with tool calls and tool results renders through the template; tool_choice none leaves tools out', async () => {
  const history: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
    ...messages,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 18}' },
  ];
  const tokenize = async (body: object) => ((await (await postJson(`${server.url}/tokenize`, { model: MODEL, ...body })).json()) as Json).tokens as number[];
  const detokenize = async (tokens: number[]) => ((await (await postJson(`${server.url}/detokenize`, { model: MODEL, tokens })).json()) as Json).prompt as string;
  const rendered = await detokenize(await tokenize({ messages: history }));
  assert.ok(rendered.includes('<tool_call>\n{"name": "get_weather", "arguments": {"city":"Paris","unit":"celsius"}}\n</tool_call>'), rendered);
  assert.ok(rendered.includes('<tool_response>\n{"temperature": 18}\n</tool_response>'), rendered);
  const answered = await client.chat.completions.create({ model: MODEL, messages: history, tools: TOOLS, max_tokens: 8 });
  assert.ok(answered.choices[0]!.message);
  const none = await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, messages, tools: TOOLS, tool_choice: 'none', max_tokens: 4, logprobs: true });
  const withTools = await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, messages, tools: TOOLS, tool_choice: 'auto', max_tokens: 4 });
  assert.ok(((await withTools.json()) as Json).usage.prompt_tokens > ((await none.json()) as Json).usage.prompt_tokens + 50, 'tool_choice none renders no tools');
});

test('malformed tools and impossible choices are 400s naming the field', async () => {
  const cases: Array<[object, string, RegExp]> = [
    [{ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'missing' } } }, 'tool_choice.function.name', /not among the tools/],
    [{ tool_choice: 'required' }, 'tool_choice', /needs tools/],
    [{ tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name', /function names/],
    [{ tools: [{ type: 'retrieval' }] }, 'tools[0].type', /function/],
    [{ tools: [TOOLS[0], TOOLS[0]] }, 'tools', /two tools are named get_weather/],
    [{ tools: [TOOLS[0], { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { n: { type: 'number', multipleOf: 2 } } } } }], tool_choice: 'required' }, 'tools[1].function.parameters.properties.n.multipleOf', /multipleOf/],
    [{ tools: TOOLS, tool_choice: 'required', response_format: { type: 'json_object' } }, 'tool_choice', /cannot be combined with structured output/],
  ];
  for (const [extra, param, message] of cases) {
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, messages, ...extra });
    const body = (await res.json()) as Json;
    assert.is(res.status, 400, JSON.stringify(extra));
    assert.is(body.error.param, param, JSON.stringify(body));
    assert.match(body.error.message, message);
  }
});

test('reasoning: <think> becomes reasoning_content in the message and the stream', async () => {
  // enable_thinking false: the constraint holds from the first token and writes a think block.
  const request = {
    model: MODEL,
    messages: [{ role: 'user', content: 'think first' }],
    guided_regex: '<think>[a-z ]{3,20}</think>\\n\\n[a-z]{2,8}',
    chat_template_kwargs: { enable_thinking: false },
    seed: 4,
  };
  const plain = ((await (await postJson(`${reasoningServer.url}/v1/chat/completions`, request)).json()) as Json).choices[0].message;
  assert.match(plain.reasoning_content, /^[a-z ]{3,20}$/);
  assert.match(plain.content, /^[a-z]{2,8}$/);
  const events = (await (await postJson(`${reasoningServer.url}/v1/chat/completions`, { ...request, stream: true })).text()).split('\n\n').filter((e) => e.startsWith('data: {'));
  let reasoning = '';
  let content = '';
  for (const event of events) {
    const delta = (JSON.parse(event.slice(6)) as Json).choices[0]?.delta ?? {};
    reasoning += delta.reasoning_content ?? '';
    content += delta.content ?? '';
  }
  assert.equal([reasoning, content], [plain.reasoning_content, plain.content]);
});

test('reasoning: a constrained answer starts after </think>', async () => {
  const tokenize = (prompt: string) => postJson(`${server.url}/tokenize`, { model: MODEL, prompt, add_special_tokens: false });
  const [thinkEnd] = ((await (await tokenize('</think>')).json()) as Json).tokens as number[];
  const schema = TOOLS[0].function.parameters!;
  for (let seed = 1; seed <= 3; seed++) {
    // The bias writes </think> at once; the JSON after it is held to the schema.
    const body = { model: MODEL, messages, guided_json: schema, logit_bias: { [thinkEnd]: 100 }, seed, max_tokens: 200 };
    const message = ((await (await postJson(`${reasoningServer.url}/v1/chat/completions`, body)).json()) as Json).choices[0].message;
    assert.ok(validators.get('get_weather')!(JSON.parse(message.content)), message.content);
    assert.not.ok('reasoning_content' in message && message.reasoning_content, 'nothing was reasoned');
  }
});

test("the tool-call format is the model family's: Llama 3 has none the server knows, unless --tool-call-parser names one", async () => {
  const llama = await Engine.load(ensureModel('llama-tiny', 'fp32'), { maxModelLen: 1024, threads: 1 });
  const plain = await startServer({}, llama);
  const named = await startServer({ toolCallParser: 'hermes' }, llama);
  try {
    const body = { model: MODEL, messages, tools: TOOLS, tool_choice: 'required', max_tokens: 120 };
    const refused = await postJson(`${plain.url}/v1/chat/completions`, body);
    assert.is(refused.status, 400);
    assert.is(((await refused.json()) as Json).error.param, 'tools');
    const answered = (await (await postJson(`${named.url}/v1/chat/completions`, body)).json()) as Json;
    checkCalls(answered.choices[0].message.tool_calls, ['get_weather', 'get_time']);
  } finally {
    await plain.close();
    await named.close();
    await llama.close();
  }
});

const qwen = TOOL_CALL_PARSERS.qwen;
const split = { reasoning: REASONING_PARSERS.qwen3, tools: { parser: qwen, names: new Set(['a', 'b']) } };

test('the splitter: calls, reasoning and content out of crafted text, streamed in any chunks as whole', () => {
  const text = '<think>\nplan: call a</think>\n\nSure.\n<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n<tool_call>\n{"name": "zzz", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": "{\\"y\\": [2]}"}\n</tool_call>\n';
  const whole = splitMessage(text, split);
  assert.is(whole.reasoning, '\nplan: call a');
  assert.equal(whole.toolCalls.map((c) => c.function), [{ name: 'a', arguments: '{"x":1}' }, { name: 'b', arguments: '{"y":[2]}' }]);
  assert.is(whole.content, 'Sure.\n<tool_call>\n{"name": "zzz", "arguments": {}}\n</tool_call>', 'an unknown tool stays content');
  for (let size = 1; size <= 9; size++) {
    const splitter = new MessageSplitter(split);
    const parts: MessagePart[] = [];
    for (let i = 0; i < text.length; i += size) parts.push(...splitter.push(text.slice(i, i + size)));
    parts.push(...splitter.end());
    const joined = (kind: 'content' | 'reasoning') => parts.flatMap((p) => (kind in p ? [(p as Record<string, string>)[kind]] : [])).join('');
    assert.is(joined('content'), whole.content, `chunks of ${size}`);
    assert.is(joined('reasoning'), whole.reasoning);
    assert.equal(parts.flatMap((p) => ('toolCall' in p ? [p.toolCall.function] : [])), whole.toolCalls.map((c) => c.function));
  }
  // No parsers: the text exactly as written; an unfinished call at the end is content.
  assert.equal(splitMessage('  hi <tool_call>', { reasoning: null, tools: null }), { content: '  hi <tool_call>', reasoning: null, toolCalls: [] });
  assert.equal(splitMessage('hi <tool_call>\n{"name": "a"', split).content, 'hi <tool_call>\n{"name": "a"');
  assert.equal(splitMessage('no think here', split), { content: 'no think here', reasoning: null, toolCalls: [] });
});

test.run();
