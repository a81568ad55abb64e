// Converting for embeddings (--task embed): a checkpoint saved from the base model (no `model.`
// prefix, no lm_head, as Qwen3-Embedding's) converts, and the sentence-transformers pooling it
// declares becomes the manifest's default; the vectors equal the float64 reference's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../models/convert.ts';
import { ensureCheckpoint } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { main as convertCli } from '../../server/commands/convert.ts';
import { tinyReference } from '../engine/helpers.ts';
import { referenceEmbedding } from '../reference/decoder.ts';

const work = mkdtempSync(join(tmpdir(), 'xllm-embed-convert-'));

/** A copy of the tiny checkpoint as a base model saves it: tensor names without `model.`, no lm_head. */
function baseModelCheckpoint(dir: string): void {
  cpSync(ensureCheckpoint('tiny'), dir, { recursive: true });
  const path = join(dir, 'model.safetensors');
  const file = readFileSync(path);
  const length = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + length).toString('utf8')) as Record<string, unknown>;
  const renamed = Object.fromEntries(Object.entries(header).flatMap(([name, entry]) => (name === 'lm_head.weight' ? [] : [[name.replace(/^model\./, ''), entry]])));
  let json = JSON.stringify(renamed);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(json), file.subarray(8 + length)]));
}

function sentenceTransformersConfig(dir: string, mode: string, normalize: boolean): void {
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ...(normalize ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }] : []),
  ];
  writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 64, pooling_mode_cls_token: false, pooling_mode_mean_tokens: false, [mode]: true }));
}

test('a base-model checkpoint with mean pooling declared converts; its vectors equal the reference', async () => {
  const from = join(work, 'base-mean');
  baseModelCheckpoint(from);
  sentenceTransformersConfig(from, 'pooling_mode_mean_tokens', true);
  const to = join(work, 'base-mean-onnx');
  assert.is(await convertCli(['--from', from, '--to', to, '--task', 'embed']), 0);
  const manifest = readManifest(to);
  assert.equal(manifest.embedding, { pooling: 'mean', normalize: true });
  assert.is(manifest.outputs.logits, undefined);
  const engine = await Engine.load(to, { threads: 1 });
  try {
    const tokens = [9707, 11, 1879, 0, 3555];
    const { embedding } = await engine.embed({ requestId: 'e', promptTokens: tokens });
    const expected = referenceEmbedding(tinyReference(), tokens, { pooling: 'mean' });
    embedding.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-4, `component ${i}`));
  } finally {
    await engine.close();
  }
});

test('last-token pooling without Normalize; unsupported pooling and the generate task on a headless checkpoint are refused', async () => {
  const from = join(work, 'base-last');
  baseModelCheckpoint(from);
  sentenceTransformersConfig(from, 'pooling_mode_lasttoken', false);
  convertCheckpoint({ from, to: join(work, 'base-last-onnx'), dtype: 'int4', layout: 'engine', task: 'embed' });
  assert.equal(readManifest(join(work, 'base-last-onnx')).embedding, { pooling: 'last', normalize: false });

  sentenceTransformersConfig(from, 'pooling_mode_cls_token', true);
  assert.throws(() => convertCheckpoint({ from, to: join(work, 'cls'), dtype: 'fp32', layout: 'engine', task: 'embed' }), /pooling_mode_cls_token is not supported/);
  assert.throws(() => convertCheckpoint({ from, to: join(work, 'generate'), dtype: 'fp32', layout: 'engine' }), /model\.embed_tokens\.weight|lm_head/);
  assert.is(await convertCli(['--from', from, '--to', join(work, 'x'), '--task', 'rank']), 2);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
