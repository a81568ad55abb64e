// /v1/embeddings with --task embed, through the official `openai` client (float, and base64
// which the client asks for by default): vectors equal the float64 reference's pooled and
// normalized final hidden states (1e-4); inputs as texts or token ids, one or many; dimensions;
// bad input gets 400s naming the field while valid requests beside it are untouched; the
// generating routes refuse on an embedding server, and /v1/embeddings on a generating one.
import OpenAI from 'openai';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { tinyReference } from '../engine/helpers.ts';
import { referenceEmbedding } from '../reference/decoder.ts';
import { MODEL, postJson, startServer, type TestServer } from './harness.ts';

let server: TestServer;
let generating: TestServer;
let engine: Engine;
let client: OpenAI;
type Json = Record<string, any>;
const MAX_MODEL_LEN = 128;

test.before(async () => {
  engine = await Engine.load(ensureModel('tiny', 'embed'), { maxBatchSize: 8, maxModelLen: MAX_MODEL_LEN, threads: 1 });
  server = await startServer({ task: 'embed' }, engine);
  generating = await startServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'EMPTY', maxRetries: 0 });
});
test.after(async () => {
  await Promise.all([server.close(), generating.close()]);
  await engine.close();
});

const reference = (tokens: number[], pooling: 'last' | 'mean' = 'last', dimensions?: number) => referenceEmbedding(tinyReference(), tokens, { pooling, dimensions });

function assertClose(got: number[], expected: number[], what: string): void {
  assert.is(got.length, expected.length, `${what}: length`);
  const error = Math.max(...got.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(error < 1e-4, `${what}: off by ${error}`);
}

const texts = ['Paris is the capital of France.', 'Bananas are yellow.', 'hello xllm'];

test('embeddings.create: base64 (the client default) and float equal the reference; usage counts the tokens', async () => {
  const tokens = texts.map((t) => engine.tokenizer.encode(t));
  const decoded = await client.embeddings.create({ model: MODEL, input: texts });
  const floats = await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' });
  for (const res of [decoded, floats]) {
    assert.is(res.object, 'list');
    assert.is(res.model, MODEL);
    assert.equal(res.data.map((d) => [d.object, d.index]), texts.map((_, i) => ['embedding', i]));
    res.data.forEach((d, i) => assertClose(d.embedding, reference(tokens[i]!), `text ${i}`));
    assert.equal(res.usage, { prompt_tokens: tokens.flat().length, total_tokens: tokens.flat().length });
  }
  // On the wire, base64 is the float32 values' little-endian bytes.
  const raw = (await (await postJson(`${server.url}/v1/embeddings`, { input: texts[0], encoding_format: 'base64' })).json()) as Json;
  const bytes = Buffer.from(raw.data[0].embedding, 'base64');
  assert.is(bytes.length, 64 * 4);
  assertClose(Array.from({ length: 64 }, (_, i) => bytes.readFloatLE(i * 4)), reference(tokens[0]!), 'base64 bytes');
});

test('inputs as token ids (one list or several), dimensions, normalize and the --pooling default', async () => {
  const ids = [[9707, 11, 1879], [3555, 374, 279, 6722, 315, 9625, 30]];
  const one = await client.embeddings.create({ model: MODEL, input: ids[0]!, encoding_format: 'float' });
  assert.is(one.data.length, 1);
  assertClose(one.data[0]!.embedding, reference(ids[0]!), 'one token list');
  const several = await client.embeddings.create({ model: MODEL, input: ids, dimensions: 16 });
  several.data.forEach((d, i) => assertClose(d.embedding, reference(ids[i]!, 'last', 16), `token list ${i} at 16 dimensions`));
  const raw = (await (await postJson(`${server.url}/v1/embeddings`, { input: ids[1], normalize: false })).json()) as Json;
  const hidden = tinyReference().newSequence().hiddenStates(ids[1]!).at(-1)!;
  assertClose(raw.data[0].embedding, Array.from(hidden), 'normalize false: the raw hidden state');
  const meanServer = await startServer({ task: 'embed', pooling: 'mean' }, engine);
  try {
    const mean = (await (await postJson(`${meanServer.url}/v1/embeddings`, { input: ids[1] })).json()) as Json;
    assertClose(mean.data[0].embedding, reference(ids[1]!, 'mean'), '--pooling mean');
  } finally {
    await meanServer.close();
  }
});

test('bad input: 400 naming the field, and valid requests beside it are untouched', async () => {
  const expected = (await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' })).data.map((d) => d.embedding);
  const bad: Array<[unknown, string]> = [
    [{}, 'input'],
    [{ input: [] }, 'input'],
    [{ input: 42 }, 'input'],
    [{ input: [[]] }, 'input[0]'],
    [{ input: ['ok', ''] }, 'input[1]'],
    [{ input: [1, 2, 151936] }, 'input[2]'],
    [{ input: [1, -2] }, 'input[1]'],
    [{ input: 'x'.repeat(20) + ' word'.repeat(MAX_MODEL_LEN) }, 'input'],
    [{ input: ['fine', 'word '.repeat(MAX_MODEL_LEN + 1)] }, 'input[1]'],
    [{ input: 'a', dimensions: 0 }, 'dimensions'],
    [{ input: 'a', dimensions: 65 }, 'dimensions'],
    [{ input: 'a', encoding_format: 'int8' }, 'encoding_format'],
    [{ input: 'a', normalize: 'yes' }, 'normalize'],
    [{ input: 'a', truncate_prompt_tokens: 4 }, 'truncate_prompt_tokens'],
    [{ input: 'a', model: 'other-model' }, 'model'],
    [{ input: Array.from({ length: 2049 }, () => 'a') }, 'input'],
  ];
  const beside = Array.from({ length: 4 }, () => client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' }));
  for (const [body, param] of bad) {
    const res = await postJson(`${server.url}/v1/embeddings`, body);
    const json = (await res.json()) as Json;
    assert.ok(res.status === 400 || (param === 'model' && res.status === 404), `${JSON.stringify(body).slice(0, 80)}: ${res.status}`);
    assert.is(json.error.param, param, json.error.message);
  }
  for (const res of await Promise.all(beside)) res.data.forEach((d, i) => assert.equal(d.embedding, expected[i]));
});

test('an embedding server does not generate; a generating server does not embed', async () => {
  for (const [path, body] of [
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/completions', { prompt: 'hi' }],
    ['/v1/sample', { prompt: 'a b', selector: 'b' }],
  ] as const) {
    const res = await postJson(`${server.url}${path}`, body);
    const json = (await res.json()) as Json;
    assert.is(res.status, 400, path);
    assert.match(json.error.message, /embeddings/);
  }
  const res = await postJson(`${generating.url}/v1/embeddings`, { input: 'hi' });
  assert.is(res.status, 400);
  assert.is(((await res.json()) as Json).error.param, 'model');
});

test.run();
