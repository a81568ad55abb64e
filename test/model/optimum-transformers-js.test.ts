import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { basename, dirname } from 'node:path';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { DecoderReference, referenceEmbedding } from '../reference/decoder.ts';

const prompts = [
  [9707, 11, 1879, 0, 3555, 374, 279, 6722, 315, 9625, 30],
  [151644, 872, 198, 14990, 151645, 198, 151644, 77091, 198],
];
const STEPS = 8;

test('the optimum export runs in transformers.js (local files only) and generates the reference greedy tokens', async () => {
  const dir = ensureModel('tiny', 'optimum');
  const reference = DecoderReference.load(ensureCheckpoint('tiny'));
  const { env, AutoModelForCausalLM, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  const model = await AutoModelForCausalLM.from_pretrained(basename(dir), { dtype: 'fp32', device: 'cpu' });
  try {
    for (const prompt of prompts) {
      const inputIds = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
      const attentionMask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
      const output = (await model.generate({ input_ids: inputIds, attention_mask: attentionMask, max_new_tokens: STEPS, do_sample: false, eos_token_id: [] })) as InstanceType<typeof Tensor>;
      const generated = Array.from(output.data as BigInt64Array, Number).slice(prompt.length);
      assert.equal(generated, reference.greedy(prompt, STEPS));
    }
  } finally {
    await model.dispose();
  }
});

test('the optimum export for embeddings runs in transformers.js feature-extraction and gives the reference vectors', async () => {
  const dir = ensureModel('tiny', 'optimum-embed');
  const reference = DecoderReference.load(ensureCheckpoint('tiny'));
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  const extractor = await pipeline('feature-extraction', basename(dir), { dtype: 'fp32', device: 'cpu' });
  try {
    const text = 'Paris is the capital of France.';
    const tokens = extractor.tokenizer.encode(text);
    for (const pooling of ['last_token', 'mean'] as const) {
      const output = await extractor([text], { pooling, normalize: true });
      const expected = referenceEmbedding(reference, tokens, { pooling: pooling === 'mean' ? 'mean' : 'last' });
      assert.equal(output.dims, [1, 64]);
      Array.from(output.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-4, `${pooling} component ${i}`));
    }
  } finally {
    await extractor.dispose();
  }
});

test.run();
