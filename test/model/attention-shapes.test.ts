// The native runtime's attention (native/attention.c) on the head shapes of real checkpoints,
// which the tiny models (16- and 32-wide heads, 2 query heads per key-value head) do not have:
// Qwen2.5's 64-wide heads with 7 query heads per key-value head, 128-wide heads, and plain
// multi-head attention. Each random checkpoint is converted, then a long prompt (several blocks
// of 16 keys), a short chunk after it and decode steps of two rows run on both runtimes against
// the float64 reference forward pass.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convertCheckpoint } from '../../models/convert.ts';
import { writeRandomCheckpoint, type DecoderShape } from '../../models/random-checkpoint.ts';
import { DecoderReference, argmax } from '../reference/decoder.ts';
import { EngineSession, maxAbsDiff, type SessionChoice } from './engine-session.ts';

const TOLERANCE = 1e-4;
const addonBuilt = existsSync(new URL('../../native/build/ort_session.node', import.meta.url));
const runtimes: SessionChoice[] = addonBuilt ? [{ runtime: 'native' }, { runtime: 'onnxruntime-node' }] : [{ runtime: 'onnxruntime-node' }];
const work = mkdtempSync(join(tmpdir(), 'xllm-attention-'));

const base = { intermediateSize: 64, numLayers: 2, vocabSize: 500, ropeTheta: 10000, maxPositionEmbeddings: 256, tieWordEmbeddings: false, rmsNormEps: 1e-6 };
const SHAPES: Array<[string, DecoderShape]> = [
  ['64-wide heads, 7 per key-value head (Qwen2.5)', { ...base, hiddenSize: 448, numAttentionHeads: 7, numKeyValueHeads: 1 }],
  ['128-wide heads, 2 per key-value head', { ...base, hiddenSize: 512, numAttentionHeads: 4, numKeyValueHeads: 2 }],
  ['multi-head attention (one query head per key-value head)', { ...base, hiddenSize: 128, numAttentionHeads: 2, numKeyValueHeads: 2 }],
];
const tokens = (count: number, seed: number) => Array.from({ length: count }, (_, i) => (i * 7919 + seed * 104729) % 500);

for (const [label, shape] of SHAPES) {
  test(`${label}: a 37-token prompt, a 5-token chunk and decode steps of two rows equal the reference on every runtime`, async () => {
    const dir = join(work, label.replace(/\W+/g, '-'));
    writeRandomCheckpoint(join(dir, 'hf'), shape, 11);
    convertCheckpoint({ from: join(dir, 'hf'), to: join(dir, 'onnx'), dtype: 'fp32', layout: 'engine' });
    const reference = DecoderReference.load(join(dir, 'hf'));
    for (const choice of runtimes) {
      const on = choice.runtime!;
      const engine = await EngineSession.open(join(dir, 'onnx'), 2, 64, choice);
      const refs = [reference.newSequence(), reference.newSequence()];
      const check = (got: Float32Array[], want: Float64Array[] | Float32Array[], what: string) =>
        got.forEach((row, i) => assert.ok(maxAbsDiff(row, Float32Array.from(want[i]!)) < TOLERANCE, `${on}, ${what} ${i}: ${maxAbsDiff(row, Float32Array.from(want[i]!))}`));
      const next: number[] = [];
      for (const row of [0, 1]) {
        const [prompt, chunk] = [tokens(row === 0 ? 37 : 20, row), tokens(5, row + 2)];
        check(await engine.prefill(row, prompt), refs[row]!.forward(prompt), `row ${row} prompt position`);
        const want = refs[row]!.forward(chunk);
        check(await engine.prefill(row, chunk), want, `row ${row} chunk position`);
        next.push(argmax(want.at(-1)!));
      }
      for (let step = 0; step < 3; step++) {
        const got = await engine.decode(next);
        const want = next.map((token, row) => refs[row]!.forward([token])[0]!);
        check(got, want, `decode step ${step}, row`);
        want.forEach((row, r) => (next[r] = argmax(row)));
      }
      await engine.session.release();
    }
  });
}

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
