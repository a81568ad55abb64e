// The official `openai` npm client against the real server: chat, completions, streaming,
// logprobs, n, seed, stream_options. Token ids are decoded by Hugging Face's Rust tokenizer as
// the independent reference for the returned text.
import { join } from 'node:path';
import OpenAI from 'openai';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureModel } from '../../models/recipe.ts';
import { MODEL, startServer, type TestServer } from './harness.ts';

let server: TestServer;
let client: OpenAI;
const reference = RustTokenizer.fromFile(join(ensureModel('tiny', 'fp32'), 'tokenizer.json'));
const messages = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: 'hello xllm' },
];

test.before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'EMPTY', maxRetries: 0 });
});
test.after(() => server.close());

test('chat: greedy answer with logprobs whose ids decode to the text', async () => {
  const res = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 });
  assert.is(res.object, 'chat.completion');
  assert.ok(res.id.startsWith('chatcmpl-'));
  assert.is(res.model, MODEL);
  const choice = res.choices[0]!;
  assert.is(choice.message.role, 'assistant');
  assert.ok(choice.finish_reason === 'stop' || choice.finish_reason === 'length');
  const content = choice.logprobs!.content!;
  assert.is(content.length, res.usage!.completion_tokens);
  assert.ok(res.usage!.completion_tokens <= 8);
  assert.is(res.usage!.total_tokens, res.usage!.prompt_tokens + res.usage!.completion_tokens);
  const ids = content.map((entry) => (entry as unknown as { token_id: number }).token_id);
  assert.is(await reference.decode(ids, true), choice.message.content);
  for (const entry of content) {
    assert.is(entry.top_logprobs.length, 3);
    const tops = entry.top_logprobs.map((t) => t.logprob);
    assert.equal(tops, [...tops].sort((a, b) => b - a), 'top logprobs best first');
    assert.is(entry.top_logprobs[0]!.token, entry.token, 'greedy picks the top token');
    assert.ok(Math.abs(entry.top_logprobs[0]!.logprob - entry.logprob) < 1e-6);
    assert.ok(entry.logprob <= 0);
  }
});

test('chat: streaming gives the same greedy text, role first, then finish_reason, then usage', async () => {
  const plain = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, temperature: 0 });
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 10,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.is(text, plain.choices[0]!.message.content);
  const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.is(finishing.length, 1);
  assert.equal(finishing[0]!.choices[0]!.delta, {});
  assert.is(finishing[0]!.choices[0]!.finish_reason, plain.choices[0]!.finish_reason);
  const last = chunks.at(-1)!;
  assert.equal(last.choices, []);
  assert.equal(last.usage, plain.usage);
});

test('chat: n choices, and the same seed gives the same sampled text', async () => {
  const ask = () => client.chat.completions.create({ model: MODEL, messages, max_tokens: 6, temperature: 1, seed: 1234, n: 2 });
  const [a, b] = [await ask(), await ask()];
  assert.equal(a.choices.map((c) => c.index), [0, 1]);
  assert.equal(
    a.choices.map((c) => c.message.content),
    b.choices.map((c) => c.message.content),
  );
});

test('completions: text, echo and logprobs arrays line up', async () => {
  const prompt = 'hello xllm';
  const res = await client.completions.create({ model: MODEL, prompt, max_tokens: 5, temperature: 0, logprobs: 2, echo: true });
  assert.is(res.object, 'text_completion');
  assert.ok(res.id.startsWith('cmpl-'));
  const choice = res.choices[0]!;
  assert.ok(choice.text.startsWith(prompt));
  const lp = choice.logprobs! as typeof choice.logprobs & { token_ids: number[] };
  const promptIds = await (await fetch(`${server.url}/tokenize`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt }) })).json() as { tokens: number[] };
  assert.is(lp.tokens!.length, promptIds.tokens.length + res.usage!.completion_tokens);
  assert.equal(lp.token_ids.slice(0, promptIds.tokens.length), promptIds.tokens);
  assert.is(lp.token_logprobs![0], null, 'the first prompt token has no logprob');
  assert.is(await reference.decode(lp.token_ids, false), choice.text);
  const offsets = lp.text_offset!;
  assert.equal(offsets, [...offsets].sort((x, y) => x - y));
  const generatedTops = lp.top_logprobs!.slice(promptIds.tokens.length);
  for (const top of generatedTops) assert.is(Object.keys(top!).length <= 2 && Object.keys(top!).length >= 1, true);
});

test('completions: streaming, a batch of prompts, and a token-id prompt', async () => {
  const stream = await client.completions.create({ model: MODEL, prompt: ['hello', 'world'], max_tokens: 4, temperature: 0, stream: true });
  const texts = ['', ''];
  const finished: number[] = [];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.finish_reason) finished.push(c.index);
    }
  }
  assert.equal(finished.sort(), [0, 1]);
  const single = await client.completions.create({ model: MODEL, prompt: 'world', max_tokens: 4, temperature: 0 });
  assert.is(texts[1], single.choices[0]!.text, 'each prompt of a batch is generated as if alone');
  const ids = (await (await fetch(`${server.url}/tokenize`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'world' }) })).json()) as { tokens: number[] };
  const byIds = await client.completions.create({ model: MODEL, prompt: ids.tokens, max_tokens: 4, temperature: 0 });
  assert.is(byIds.choices[0]!.text, single.choices[0]!.text);
});

test('model aliases and /v1/models', async () => {
  const models = await client.models.list();
  assert.equal(models.data.map((m) => m.id), [MODEL, 'alias-model']);
  const res = await client.chat.completions.create({ model: 'alias-model', messages, max_tokens: 2 });
  assert.is(res.model, 'alias-model');
});

test('errors reach the client as OpenAI errors with status and code', async () => {
  try {
    await client.chat.completions.create({ model: 'nope', messages, max_tokens: 2 });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, OpenAI.APIError);
    const api = error as InstanceType<typeof OpenAI.APIError>;
    assert.is(api.status, 404);
    assert.is(api.code, 'UNKNOWN');
    assert.is(api.param, 'model');
  }
});

test.run();
