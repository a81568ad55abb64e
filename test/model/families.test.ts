// Qwen3, Llama 3 and Mistral, each on its tiny random checkpoint through the whole engine:
// greedy tokens and top-5 logprobs equal the float64 reference forward pass written from
// transformers' modeling files (test/reference/decoder.ts), within 1e-4; requests batched
// together give the tokens they give alone; beam search and sample() work; the int4
// conversion runs and agrees with fp32 on most greedy tokens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel, type BuiltinModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { GenerationRequest } from '../../src/engine/types.ts';
import { readManifest } from '../../src/model/manifest.ts';
import { samplingParams } from '../../src/sampling/params.ts';
import { collect } from '../engine/helpers.ts';
import { DecoderReference, argmax } from '../reference/decoder.ts';
import { EngineSession, cosineSimilarity } from './engine-session.ts';

const TOLERANCE = 1e-4;
const STEPS = 8;

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return Float64Array.from(row, (v) => v - max - Math.log(sum));
}

const greedy = (id: string, promptTokens: number[], extra: Partial<GenerationRequest> = {}): GenerationRequest => ({
  requestId: id,
  promptTokens,
  sampling: samplingParams({ temperature: 0 }),
  maxTokens: STEPS,
  ignoreEos: true,
  logprobs: 5,
  ...extra,
});

const FAMILIES: Array<[BuiltinModel, string]> = [
  ['qwen3-tiny', 'qwen3'],
  ['llama-tiny', 'llama'],
  ['mistral-tiny', 'mistral'],
];

for (const [name, family] of FAMILIES) {
  test(`${family}: greedy tokens and top-5 logprobs equal the reference; batched equals alone; beams and sample() work`, async () => {
    const dir = ensureModel(name, 'fp32');
    assert.is(readManifest(dir).architecture, family);
    const reference = DecoderReference.load(ensureCheckpoint(name));
    const engine = await Engine.load(dir, { threads: 1, maxBatchSize: 4 });
    try {
      const prompts = ['The quick brown fox', 'Hello, how are you today?', '数学 is fun'].map((text) => engine.tokenizer.encode(text));
      // Alone: tokens and logprobs against the reference, step by step.
      const alone: number[][] = [];
      for (const [p, prompt] of prompts.entries()) {
        const result = await collect(engine.generate(greedy(`a${p}`, prompt)));
        const generated = result.events.flatMap((e) => (e.type === 'delta' ? e.tokens : []));
        const seq = reference.newSequence();
        let logits = seq.forward(prompt).at(-1)!;
        for (const [step, token] of generated.entries()) {
          const want = logSoftmax(logits);
          assert.is(token.tokenId, argmax(logits), `${family} prompt ${p} step ${step}: greedy token`);
          for (const top of token.top!) {
            const diff = Math.abs(top.logprob - want[top.tokenId]!);
            assert.ok(diff < TOLERANCE, `${family} prompt ${p} step ${step}: logprob of ${top.tokenId} off by ${diff}`);
          }
          assert.equal(token.top!.map((t) => t.tokenId), [...want.keys()].sort((a, b) => want[b]! - want[a]! || a - b).slice(0, 5));
          logits = seq.forward([token.tokenId])[0]!;
        }
        alone.push(generated.map((t) => t.tokenId));
        assert.ok(new Set(alone[p]).size > 2, `${family}: greedy output too repetitive: ${alone[p]}`);
      }
      // Together: one continuous batch.
      const together = await Promise.all(prompts.map((prompt, p) => collect(engine.generate(greedy(`t${p}`, prompt)))));
      assert.equal(together.map((t) => t.tokens[0]), alone);
      // Beam search: the width's beams, best first by cumulative logprob.
      const beams = await collect(engine.generate(greedy('b', prompts[0]!, { beam: { width: 3, candidatesPerBeam: 3 }, logprobs: 0 })));
      const scores = [0, 1, 2].map((i) => beams.events.flatMap((e) => (e.type === 'delta' && e.index === i ? e.tokens : [])).reduce((s, t) => s + t.logprob!, 0));
      assert.is(beams.tokens.length, 3);
      assert.ok(scores[0]! >= scores[1]! - 1e-9 && scores[1]! >= scores[2]! - 1e-9, `beams best first: ${scores}`);
      // sample(): the logprobs predicting each match, as the reference has them (a selector
      // that is one vocabulary token: the prompt is tokenized as usual).
      const text = 'one two three two';
      const selector = engine.tokenizer.encode(' two', { addSpecialTokens: false });
      assert.is(selector.length, 1);
      const sampled = await engine.sample({ requestId: 's', prompt: text, selector: engine.tokenizer.decode(selector), logprobs: 3 });
      assert.is(sampled.matches.length, 2);
      const tokens = engine.tokenizer.encode(text, { addSpecialTokens: false });
      const rows = reference.newSequence().forward(tokens);
      for (const match of sampled.matches) {
        const want = logSoftmax(rows[match.position - 1]!);
        for (const top of match.top) assert.ok(Math.abs(top.logprob - want[top.tokenId]!) < TOLERANCE, `${family} sample at ${match.position}`);
      }
    } finally {
      await engine.close();
    }
  });

  test(`${family}: int4 weights keep the reference greedy tokens, logits cosine > 0.99`, async () => {
    const dir = ensureModel(name, 'int4');
    assert.is(readManifest(dir).dtype, 'int4');
    const reference = DecoderReference.load(ensureCheckpoint(name));
    const engine = await EngineSession.open(dir, 1, 64);
    const prompt = Array.from({ length: 10 }, (_, i) => (i * 7919 + 13) % 100000);
    const ref = reference.newSequence();
    let logits = (await engine.prefill(0, prompt)).at(-1)!;
    let want = ref.forward(prompt).at(-1)!;
    for (let step = 0; step < STEPS; step++) {
      assert.ok(cosineSimilarity(logits, want) > 0.99, `${family} step ${step}: cosine ${cosineSimilarity(logits, want)}`);
      assert.is(argmax(logits), argmax(want), `${family} step ${step}: greedy token`);
      // Both continue from the reference's token, so one near-tie cannot derail the rest.
      logits = (await engine.decode([argmax(want)]))[0]!;
      want = ref.forward([argmax(want)])[0]!;
    }
  });
}

test('each family converts and serves from sharded BF16 safetensors, as the Hub ships them', async () => {
  const { convertCheckpoint } = await import('../../models/convert.ts');
  const { writeRandomCheckpoint } = await import('../../models/random-checkpoint.ts');
  const { BUILTIN_SHAPES } = await import('../../models/recipe.ts');
  const { mkdtempSync, rmSync, readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const work = mkdtempSync(join(tmpdir(), 'xllm-families-bf16-'));
  try {
    for (const [name, family] of FAMILIES) {
      const from = join(work, name);
      writeRandomCheckpoint(from, BUILTIN_SHAPES[name], 11, 'BF16', 3);
      assert.is(readdirSync(from).filter((f) => f.endsWith('.safetensors')).length, 3);
      const to = join(work, `${name}-int4`);
      convertCheckpoint({ from, to, dtype: 'int4', layout: 'engine' });
      assert.equal([readManifest(to).architecture, readManifest(to).dtype], [family, 'int4']);
      const engine = await Engine.load(to, { threads: 1 });
      const out = await collect(engine.generate(greedy('bf16', engine.tokenizer.encode('hello'), { logprobs: undefined })));
      assert.is(out.tokens[0]!.length, STEPS);
      await engine.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a sliding attention window and an unknown rope scaling are refused naming the field', async () => {
  const { convertCheckpoint } = await import('../../models/convert.ts');
  const { mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const work = mkdtempSync(join(tmpdir(), 'xllm-families-'));
  try {
    const cases: Array<[BuiltinModel, Record<string, unknown>, RegExp]> = [
      ['mistral-tiny', { sliding_window: 1024 }, /sliding attention window \(sliding_window 1024\) is not supported/],
      ['llama-tiny', { rope_scaling: { rope_type: 'dynamic', factor: 2 } }, /rope_scaling type "dynamic" is not supported/],
      ['qwen3-tiny', { mlp_bias: true }, /mlp_bias is not supported/],
    ];
    for (const [name, patch, message] of cases) {
      const from = join(work, name);
      cpSync(ensureCheckpoint(name), from, { recursive: true });
      const config = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8'));
      writeFileSync(join(from, 'config.json'), JSON.stringify({ ...config, ...patch }));
      assert.throws(() => convertCheckpoint({ from, to: join(work, `${name}-out`), dtype: 'fp32', layout: 'engine' }), message);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
