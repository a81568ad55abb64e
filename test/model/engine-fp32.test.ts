import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { DecoderReference, argmax } from '../reference/decoder.ts';
import { EngineSession, maxAbsDiff, type SessionChoice } from './engine-session.ts';

const TOLERANCE = 1e-4;
const dir = ensureModel('tiny', 'fp32');
const reference = DecoderReference.load(ensureCheckpoint('tiny'));
const prompt = Array.from({ length: 20 }, (_, i) => (i * 7919 + 13) % 151000);
// onnxruntime-node runs ONNX Runtime's attention kernel; the native runtime, ours (native/attention.c).
const addonBuilt = existsSync(new URL('../../native/build/ort_session.node', import.meta.url));
const runtimes: SessionChoice[] = addonBuilt ? [{}, { runtime: 'native' }] : [{}];

for (const choice of runtimes) {
const on = choice.runtime ?? 'onnxruntime-node';

test(`${on}: 20-token prefill then 10 decode steps match the reference logits`, async () => {
  const engine = await EngineSession.open(dir, 1, 64, choice);
  const ref = reference.newSequence();
  const got = await engine.prefill(0, prompt);
  const want = ref.forward(prompt);
  got.forEach((row, i) => assert.ok(maxAbsDiff(row, want[i]!) < TOLERANCE, `prefill position ${i}: ${maxAbsDiff(row, want[i]!)}`));
  let next = argmax(want.at(-1)!);
  const generated = [next];
  for (let step = 0; step < 10; step++) {
    const [row] = await engine.decode([next]);
    const [expected] = ref.forward([next]);
    assert.ok(maxAbsDiff(row!, expected!) < TOLERANCE, `decode step ${step}: ${maxAbsDiff(row!, expected!)}`);
    next = argmax(expected!);
    generated.push(next);
  }
  // Greedy decoding of a degenerate model repeats one token; this one must not.
  assert.ok(new Set(generated).size > 3, `greedy output too repetitive: ${generated}`);
});

test(`${on}: a decode batch of 3 rows with different lengths matches the reference per row`, async () => {
  const prompts = [prompt.slice(0, 5), prompt.slice(3, 14), prompt.slice(10, 12)];
  const engine = await EngineSession.open(dir, 3, 32, choice);
  const refs = prompts.map(() => reference.newSequence());
  const next: number[] = [];
  for (let r = 0; r < 3; r++) {
    const got = (await engine.prefill(r, prompts[r]!)).at(-1)!;
    const want = refs[r]!.forward(prompts[r]!).at(-1)!;
    assert.ok(maxAbsDiff(got, want) < TOLERANCE, `row ${r} prefill`);
    next.push(argmax(want));
  }
  for (let step = 0; step < 4; step++) {
    const rows = await engine.decode(next);
    for (let r = 0; r < 3; r++) {
      const [want] = refs[r]!.forward([next[r]!]);
      assert.ok(maxAbsDiff(rows[r]!, want!) < TOLERANCE, `row ${r} decode step ${step}: ${maxAbsDiff(rows[r]!, want!)}`);
      next[r] = argmax(want!);
    }
  }
});
}

test.run();
