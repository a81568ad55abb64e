// Embeddings on the tiny model converted for them (--task embed): vectors against the float64
// reference's final hidden states, pooled and normalized; the same text alone and in a batch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { EmbedRequest, EmbeddingPooling } from '../../src/engine/types.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { referenceEmbedding as reference } from '../reference/decoder.ts';
import { greedyRequest, loadTiny, randomTokens, tinyReference } from './helpers.ts';

const loadEmbedder = (options: Parameters<typeof Engine.load>[1] = {}) => Engine.load(ensureModel('tiny', 'embed'), { threads: 1, ...options });

const referenceEmbedding = (tokens: number[], pooling: EmbeddingPooling, dimensions?: number, normalize?: boolean) =>
  reference(tinyReference(), tokens, { pooling, dimensions, normalize });

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length, 'lengths');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

test('embeddings equal the float64 reference: last-token and mean pooling, normalized or not, truncated to dimensions', async () => {
  const engine = await loadEmbedder();
  try {
    assert.equal(engine.embedding, { size: 64, pooling: 'last', normalize: true });
    const cases: Array<Omit<EmbedRequest, 'requestId' | 'promptTokens'>> = [{}, { pooling: 'mean' }, { pooling: 'last', dimensions: 16 }, { pooling: 'mean', dimensions: 7 }, { pooling: 'mean', normalize: false }];
    for (const [i, tokens] of [randomTokens(1, 1), randomTokens(2, 9), randomTokens(3, 40)].entries()) {
      for (const options of cases) {
        const { embedding, promptTokens } = await engine.embed({ requestId: `ref-${i}`, promptTokens: tokens, ...options });
        assert.is(promptTokens, tokens.length);
        const expected = referenceEmbedding(tokens, options.pooling ?? 'last', options.dimensions, options.normalize);
        const error = maxDifference(embedding, expected);
        assert.ok(error < 1e-4, `${tokens.length} tokens, ${JSON.stringify(options)}: off by ${error}`);
      }
    }
  } finally {
    await engine.close();
  }
});

test('a text embeds the same alone and inside a batch of 32 (1e-5), and across prefill chunks', async () => {
  let prefills = 0;
  const engine = await loadEmbedder({ maxBatchSize: 32, prefillChunkTokens: 2048, observer: { onForward: (pass) => void (prefills += pass.kind === 'prefill' ? 1 : 0) } });
  const chunked = await loadEmbedder({ prefillChunkTokens: 16 });
  try {
    const texts = Array.from({ length: 32 }, (_, i) => randomTokens(100 + i, 8 + ((i * 7) % 50)));
    for (const pooling of ['last', 'mean'] as const) {
      const alone: Float32Array[] = [];
      for (const [i, tokens] of texts.entries()) alone.push((await engine.embed({ requestId: `alone-${i}`, promptTokens: tokens, pooling })).embedding);
      prefills = 0;
      const batched = await Promise.all(texts.map((tokens, i) => engine.embed({ requestId: `batch-${i}`, promptTokens: tokens, pooling })));
      assert.ok(prefills <= 2, `the batch of 32 took ${prefills} prefill passes`);
      batched.forEach(({ embedding }, i) => {
        const error = maxDifference(embedding, alone[i]!);
        assert.ok(error < 1e-5, `${pooling} text ${i}: batch differs from alone by ${error}`);
      });
      for (const i of [0, 5, 31]) {
        // Up to 57 tokens in chunks of 16: the pooled rows come from several passes.
        const { embedding } = await chunked.embed({ requestId: `chunked-${i}`, promptTokens: texts[i]!, pooling });
        assert.ok(maxDifference(embedding, alone[i]!) < 1e-5, `${pooling} text ${i}: chunked prefill differs`);
      }
    }
  } finally {
    await Promise.all([engine.close(), chunked.close()]);
  }
});

test('with prefix caching, a repeated text (mean pooling needs every row) embeds the same', async () => {
  const engine = await loadEmbedder({ enablePrefixCache: true, maxBatchSize: 2 });
  try {
    const shared = randomTokens(7, 30);
    for (const pooling of ['mean', 'last'] as const) {
      const first = await engine.embed({ requestId: 'p1', promptTokens: shared, pooling });
      const again = await engine.embed({ requestId: 'p2', promptTokens: shared, pooling });
      const extended = await engine.embed({ requestId: 'p3', promptTokens: [...shared, 42], pooling });
      assert.ok(maxDifference(first.embedding, again.embedding) < 1e-5, `${pooling}: repeated text differs`);
      assert.ok(maxDifference(extended.embedding, referenceEmbedding([...shared, 42], pooling)) < 1e-4, `${pooling}: extended text`);
    }
  } finally {
    await engine.close();
  }
});

test('bad embedding requests are refused naming the field; an embedding model does not generate, nor a generative one embed', async () => {
  const engine = await loadEmbedder({ maxModelLen: 64 });
  const generative = await loadTiny();
  const refused = async (call: () => Promise<unknown> | unknown, param: string) => {
    try {
      await call();
    } catch (error) {
      assert.instance(error, EngineError);
      assert.is((error as EngineError).code, 'INVALID_ARGUMENT');
      assert.is((error as EngineError).param, param, (error as Error).message);
      return;
    }
    assert.unreachable(`accepted, expected a refusal naming ${param}`);
  };
  try {
    const request = (extra: Partial<EmbedRequest>): EmbedRequest => ({ requestId: 'bad', promptTokens: [1, 2, 3], ...extra });
    await refused(() => engine.embed(request({ promptTokens: [] })), 'input');
    await refused(() => engine.embed(request({ promptTokens: [1, 151936] })), 'input');
    await refused(() => engine.embed(request({ promptTokens: randomTokens(1, 65) })), 'input');
    await refused(() => engine.embed(request({ dimensions: 0 })), 'dimensions');
    await refused(() => engine.embed(request({ dimensions: 65 })), 'dimensions');
    await refused(() => engine.embed(request({ pooling: 'cls' as EmbeddingPooling })), 'pooling');
    await refused(() => engine.generate(greedyRequest('gen', [1, 2], 1)), 'model');
    await refused(() => engine.sample({ requestId: 's', prompt: 'a b', selector: 'b', logprobs: 1 }), 'model');
    await refused(() => generative.embed(request({})), 'model');
    // The engine still serves after the refusals.
    assert.is((await engine.embed(request({ promptTokens: randomTokens(1, 64) }))).embedding.length, 64);
  } finally {
    await Promise.all([engine.close(), generative.close()]);
  }
});

test.run();
