// Checkpoint variants the converter must read (F16, BF16, sharded, tied head) and inputs
// it must refuse with a clear message and no output left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../models/convert.ts';
import { writeRandomCheckpoint, type DecoderShape } from '../../models/random-checkpoint.ts';
import { main as convertCli } from '../../server/commands/convert.ts';
import { DecoderReference } from '../reference/decoder.ts';
import { EngineSession, maxAbsDiff } from './engine-session.ts';

const SHAPE: DecoderShape = {
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  vocabSize: 1000,
  ropeTheta: 10000,
  maxPositionEmbeddings: 256,
  tieWordEmbeddings: false,
  rmsNormEps: 1e-5,
};
const prompt = [5, 17, 999, 3, 42, 42, 7, 600];
const work = mkdtempSync(join(tmpdir(), 'xllm-convert-'));

async function assertMatchesReference(hfDir: string, label: string): Promise<void> {
  const out = join(work, `${label}-onnx`);
  convertCheckpoint({ from: hfDir, to: out, dtype: 'fp32', layout: 'engine' });
  const engine = await EngineSession.open(out, 1, 16);
  const got = await engine.prefill(0, prompt);
  const want = DecoderReference.load(hfDir).newSequence().forward(prompt);
  got.forEach((row, i) => assert.ok(maxAbsDiff(row, want[i]!) < 1e-4, `${label} position ${i}: ${maxAbsDiff(row, want[i]!)}`));
}

function leftovers(): string[] {
  return readdirSync(work).filter((f) => f.includes('partial') || f.startsWith('out-'));
}

test('F16 and BF16 checkpoints convert to the reference logits', async () => {
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = join(work, dtype);
    writeRandomCheckpoint(dir, SHAPE, 7, dtype);
    await assertMatchesReference(dir, dtype);
  }
});

test('tied embeddings and linear rope scaling', async () => {
  const dir = join(work, 'tied');
  writeRandomCheckpoint(dir, { ...SHAPE, tieWordEmbeddings: true, ropeScaling: { type: 'linear', factor: 2 } }, 8);
  await assertMatchesReference(dir, 'tied');
});

test('a sharded checkpoint converts to the same bytes as the single file', () => {
  const single = join(work, 'single');
  writeRandomCheckpoint(single, SHAPE, 9);
  const sharded = join(work, 'sharded');
  writeRandomCheckpoint(sharded, SHAPE, 9);
  // Re-split the single file into two shards by tensor, with an index.
  const file = readFileSync(join(single, 'model.safetensors'));
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString());
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  const weightMap: Record<string, string> = {};
  [names.slice(0, 10), names.slice(10)].forEach((part, s) => {
    const shardHeader: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const n of part) {
      const [a, b] = header[n].data_offsets;
      chunks.push(file.subarray(8 + headerLength + a, 8 + headerLength + b));
      shardHeader[n] = { dtype: header[n].dtype, shape: header[n].shape, data_offsets: [offset, offset + b - a] };
      offset += b - a;
      weightMap[n] = `model-0000${s + 1}-of-00002.safetensors`;
    }
    const json = Buffer.from(JSON.stringify(shardHeader));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(join(sharded, weightMap[part[0]!]!), Buffer.concat([length, json, ...chunks]));
  });
  rmSync(join(sharded, 'model.safetensors'));
  writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  convertCheckpoint({ from: single, to: join(work, 'single-onnx'), dtype: 'int4', layout: 'engine' });
  convertCheckpoint({ from: sharded, to: join(work, 'sharded-onnx'), dtype: 'int4', layout: 'engine' });
  for (const f of ['model.onnx', 'model.onnx_data']) {
    assert.ok(readFileSync(join(work, 'single-onnx', f)).equals(readFileSync(join(work, 'sharded-onnx', f))), f);
  }
});

function brokenCheckpoint(name: string, edit: (dir: string) => void): string {
  const dir = join(work, name);
  writeRandomCheckpoint(dir, SHAPE, 10);
  edit(dir);
  return dir;
}

function patchSafetensorsHeader(dir: string, patch: (header: Record<string, { dtype: string; shape: number[] }>) => void): void {
  const path = join(dir, 'model.safetensors');
  const file = readFileSync(path);
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString());
  patch(header);
  const json = JSON.stringify(header).padEnd(headerLength, ' ');
  assert.ok(json.length === headerLength, 'patched header must keep its length');
  writeFileSync(path, Buffer.concat([file.subarray(0, 8), Buffer.from(json), file.subarray(8 + headerLength)]));
}

const broken: [string, (dir: string) => void, RegExp][] = [
  ['missing tokenizer', (d) => rmSync(join(d, 'tokenizer.json')), /missing tokenizer\.json/],
  ['missing weights', (d) => rmSync(join(d, 'model.safetensors')), /no model\.safetensors/],
  ['unsupported model_type', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')), model_type: 'gpt2' })), /model_type "gpt2" is not a family this converter knows/],
  ['wrong shape', (d) => patchSafetensorsHeader(d, (h) => (h['model.layers.1.mlp.up_proj.weight']!.shape = [64, 128])), /model\.layers\.1\.mlp\.up_proj\.weight.*(shape|offsets)/],
  ['wrong dtype', (d) => patchSafetensorsHeader(d, (h) => (h['model.norm.weight']!.dtype = 'I32')), /model\.norm\.weight has dtype I32/],
  ['missing tensor', (d) => patchSafetensorsHeader(d, (h) => { h['model.layers.0.self_attn.q_proj.biaz'] = h['model.layers.0.self_attn.q_proj.bias']!; delete h['model.layers.0.self_attn.q_proj.bias']; }), /no tensor model\.layers\.0\.self_attn\.q_proj\.bias/],
];

for (const [label, edit, message] of broken) {
  test(`refuses a checkpoint with ${label}, leaving no output`, async () => {
    const dir = brokenCheckpoint(label.replace(/ /g, '-'), edit);
    const out = join(work, `out-${label.replace(/ /g, '-')}`);
    assert.throws(() => convertCheckpoint({ from: dir, to: out, dtype: 'fp32', layout: 'engine' }), message);
    assert.equal(leftovers(), []);
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      assert.is(await convertCli(['--from', dir, '--to', out]), 1);
    } finally {
      console.error = original;
    }
    assert.match(errors.join('\n'), message);
    assert.equal(leftovers(), []);
  });
}

test('the CLI rejects bad flags with exit code 2', async () => {
  const original = console.error;
  console.error = () => {};
  try {
    assert.is(await convertCli(['--to', join(work, 'x')]), 2);
    assert.is(await convertCli(['--from', work, '--to', join(work, 'x'), '--dtype', 'int8']), 2);
    assert.is(await convertCli(['--from', work, '--to', join(work, 'x'), '--layout', 'gguf']), 2);
  } finally {
    console.error = original;
  }
  assert.not.ok(existsSync(join(work, 'x')));
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
