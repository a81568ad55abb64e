// `xllm serve --model DIR` on a Hugging Face checkpoint as the Hub ships it (sharded BF16
// safetensors, config.json, tokenizer files, no xllm.json): converted once into the cache,
// served under the directory's name, and reused by the next start.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeRandomCheckpoint } from '../../models/random-checkpoint.ts';
import { BUILTIN_SHAPES, ensureModel } from '../../models/recipe.ts';
import { postJson } from './harness.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

const root = mkdtempSync(join(tmpdir(), 'xllm-hf-'));
const checkpoint = join(root, 'Qwen2-Tiny-Instruct');
const cache = join(root, 'cache');

test.after(() => rmSync(root, { recursive: true, force: true }));

async function serveAndComplete(): Promise<{ server: ServeProcess; text: string; models: string[] }> {
  const server = await startServeProcess(['--model', checkpoint, '--threads', '1', '--max-model-len', '256'], { XLLM_CACHE_DIR: cache });
  const models = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
  const res = await postJson(`${server.url}/v1/completions`, { model: 'Qwen2-Tiny-Instruct', prompt: 'hello', max_tokens: 8, temperature: 0, ignore_eos: true });
  assert.is(res.status, 200);
  const body = (await res.json()) as { choices: Array<{ text: string }>; usage: { completion_tokens: number } };
  assert.is(body.usage.completion_tokens, 8);
  server.child.kill('SIGTERM');
  assert.is(await server.exited, 0);
  return { server, text: body.choices[0]!.text, models };
}

test('a sharded BF16 checkpoint is converted once (int4 on cpu), served by its name, and the cache reused', async () => {
  writeRandomCheckpoint(checkpoint, BUILTIN_SHAPES.tiny, 7, 'BF16', 3);
  assert.equal(readdirSync(checkpoint).filter((f) => f.endsWith('.safetensors')).length, 3);

  const first = await serveAndComplete();
  assert.equal(first.models, ['Qwen2-Tiny-Instruct']);
  const converted = first.server.logs.find((l) => l.event === 'checkpoint_converted');
  assert.ok(converted, 'the first start converts');
  assert.is(converted!.dtype, 'int4');
  assert.ok(first.server.logs.some((l) => l.event === 'convert_progress' && l.percent === 100), 'progress is logged off a terminal');

  const second = await serveAndComplete();
  const cached = second.server.logs.find((l) => l.event === 'checkpoint_cached');
  assert.ok(cached, 'the second start reuses the conversion');
  assert.is(cached!.converted, converted!.converted);
  assert.not.ok(second.server.logs.some((l) => l.event === 'convert_progress'));
  assert.is(second.text, first.text, 'the same model answers');

  // Another weight type is another conversion.
  const fp32 = await startServeProcess(['--model', checkpoint, '--dtype', 'float32', '--threads', '1'], { XLLM_CACHE_DIR: cache });
  const other = fp32.logs.find((l) => l.event === 'checkpoint_converted');
  assert.ok(other && other.dtype === 'fp32' && other.converted !== converted!.converted);
  fp32.child.kill('SIGTERM');
  await fp32.exited;
});

test('--task embed converts the checkpoint for embeddings (another cache entry) and serves /v1/embeddings; a mismatched model and task are refused at start-up', async () => {
  const server = await startServeProcess(['--model', checkpoint, '--task', 'embed', '--threads', '1'], { XLLM_CACHE_DIR: cache });
  try {
    const converted = server.logs.find((l) => l.event === 'checkpoint_converted');
    assert.ok(converted && converted.task === 'embed' && String(converted.converted).endsWith('-int4-embed'), JSON.stringify(converted));
    const res = await postJson(`${server.url}/v1/embeddings`, { input: ['hello', 'world'] });
    const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
    assert.is(res.status, 200);
    assert.equal(body.data.map((d) => d.embedding.length), [64, 64]);
    assert.ok(Math.abs(Math.hypot(...body.data[0]!.embedding) - 1) < 1e-5, 'normalized');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  const cli = join(import.meta.dirname, '..', '..', 'server', 'cli.ts');
  const serve = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--port', '0', ...args], { encoding: 'utf8', env: { ...process.env, XLLM_CACHE_DIR: cache } });
  const converted = server.logs.find((l) => l.event === 'checkpoint_converted')!.converted as string;
  const generateOnEmbedding = serve('--model', converted);
  assert.is(generateOnEmbedding.status, 2);
  assert.match(generateOnEmbedding.stderr, /converted for embeddings: serve it with --task embed/);
  const embedOnGenerative = serve('--model', ensureModel('tiny', 'fp32'), '--task', 'embed');
  assert.is(embedOnGenerative.status, 2);
  assert.match(embedOnGenerative.stderr, /--task embed needs a model converted for embeddings/);
});

test('a directory that is neither a converted model nor a checkpoint is named at start-up', async () => {
  const empty = mkdtempSync(join(root, 'empty-'));
  const cli = join(import.meta.dirname, '..', '..', 'server', 'cli.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--model', empty, '--port', '0'], { encoding: 'utf8', env: { ...process.env, XLLM_CACHE_DIR: cache } });
  assert.is(run.status, 1);
  assert.match(run.stderr, /holds neither a converted model \(xllm\.json\) nor a Hugging Face checkpoint/);
});

test.run();
