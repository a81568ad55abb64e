// /v1/rerank with --task rerank: each document's relevance equals p("yes") ÷ (p("yes") + p("no"))
// of the float64 reference forward pass at the end of its Qwen3-Reranker prompt (1e-4); results
// come highest first, cut to top_n, with or without the documents; /rerank and /v2/rerank answer
// alike; bad input and a server not started for reranking are 400s naming the field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_INSTRUCTION, rerankPrompt } from '../../server/rerank/qwen3-reranker.ts';
import { logSoftmax, tinyReference } from '../engine/helpers.ts';
import { MODEL, postJson, sharedEngine, startServer, type TestServer } from './harness.ts';

let server: TestServer;
type Json = Record<string, any>;

test.before(async () => {
  server = await startServer({ task: 'rerank' });
});
test.after(() => server.close());

const query = 'What is the capital of France?';
const documents = ['Paris is the capital of France.', 'Bananas are yellow.', { text: 'The Eiffel Tower stands in Paris.' }];

test('relevance scores equal the reference p(yes) at the end of each prompt; highest first, top_n, documents', async () => {
  const { engine } = await sharedEngine();
  const yes = engine.tokenizer.tokenToId('yes')!;
  const no = engine.tokenizer.tokenToId('no')!;
  const expected = documents.map((d) => {
    const tokens = engine.tokenizer.encode(rerankPrompt(DEFAULT_INSTRUCTION, query, typeof d === 'string' ? d : d.text));
    const last = logSoftmax(tinyReference().newSequence().forward(tokens).at(-1)!);
    return { score: Math.exp(last[yes]) / (Math.exp(last[yes]) + Math.exp(last[no])), tokens: tokens.length };
  });

  const res = (await (await postJson(`${server.url}/v1/rerank`, { model: MODEL, query, documents })).json()) as Json;
  assert.is(res.results.length, 3);
  for (const result of res.results) {
    assert.ok(Math.abs(result.relevance_score - expected[result.index].score) < 1e-4, `document ${result.index}: ${result.relevance_score} vs ${expected[result.index].score}`);
    const doc = documents[result.index]!;
    assert.equal(result.document, { text: typeof doc === 'string' ? doc : doc.text });
  }
  const scores = res.results.map((r: Json) => r.relevance_score);
  assert.equal(scores, [...scores].sort((a: number, b: number) => b - a), 'highest first');
  assert.is(res.usage.total_tokens, expected.reduce((n, e) => n + e.tokens, 0));

  for (const path of ['/rerank', '/v2/rerank']) {
    const top = (await (await postJson(`${server.url}${path}`, { query, documents, top_n: 2, return_documents: false })).json()) as Json;
    assert.equal(
      top.results.map((r: Json) => [r.index, 'document' in r]),
      res.results.slice(0, 2).map((r: Json) => [r.index, false]),
      path,
    );
  }
});

test('bad input, and a server not started for reranking, are 400s naming the field', async () => {
  const refused = async (url: string, body: Json, param: string) => {
    const res = await postJson(`${url}/v1/rerank`, body);
    const json = (await res.json()) as Json;
    assert.is(res.status, 400, JSON.stringify(json));
    assert.is(json.error.param, param, JSON.stringify(json));
  };
  await refused(server.url, { query, documents: [] }, 'documents');
  await refused(server.url, { query, documents, top_n: 0 }, 'top_n');
  await refused(server.url, { documents }, 'query');
  await refused(server.url, { query, documents: [{ body: 'x' }] }, 'documents[0]');
  await refused(server.url, { query, documents: ['x'.repeat(3 * 2 ** 20)] }, 'documents[0]');
  const generating = await startServer();
  try {
    await refused(generating.url, { query, documents }, 'model');
  } finally {
    await generating.close();
  }
});

test.run();
