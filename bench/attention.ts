// Our attention kernel (native/attention.c) against ONNX Runtime's GroupQueryAttention kernel,
// on bench-0.5b int4 through the native runtime: one forward pass of the whole model per
// segment shape (decode rows, prompt chunks at several positions), the two kernels pinned by
// XLLM_ATTENTION_KERNEL in two runners of one process and run alternately (a pause before each
// pass, so that the other runner's threads have stopped spinning), median ms a pass.
// What it measures is what native/attention_op.c's ours_is_faster() encodes.
//   npx tsx bench/attention.ts [--reps 9]
import { cpus } from 'node:os';
import { ensureModel } from '../models/recipe.ts';
import { ModelRunner, type PassSegment } from '../src/engine/model-runner.ts';
import { readManifest } from '../src/model/manifest.ts';
import { THREADS } from './decode/workload.ts';

const argv = process.argv.slice(2);
const reps = Number(argv[argv.indexOf('--reps') + 1] || 9);
const dir = ensureModel('bench-0.5b', 'int4');
const manifest = readManifest(dir);

async function runner(kernel: 'xllm' | 'onnxruntime'): Promise<ModelRunner> {
  process.env.XLLM_ATTENTION_KERNEL = kernel; // read as the session's kernels are made
  const loaded = await ModelRunner.load(dir, manifest, { device: 'cpu', threads: THREADS, runtime: 'native', int4Kernel: 'auto', slots: 4, maxLength: 4200 });
  delete process.env.XLLM_ATTENTION_KERNEL;
  return loaded;
}
const runners = { ours: await runner('xllm'), onnxruntime: await runner('onnxruntime') };
const output = new Float32Array(manifest.vocabSize);

/** `rows` rows of `seq` tokens each at positions [at, at + seq), from slot 0. */
function segment(rows: number, seq: number, at: number): PassSegment {
  return {
    firstSlot: 0,
    rows,
    seq,
    tokens: Array.from({ length: rows * seq }, (_, i) => (i * 7919) % 150000),
    positions: Array.from({ length: rows * seq }, (_, i) => at + (i % seq)),
    totals: new Array(rows).fill(at + seq),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const cases: Array<[string, number, number, number]> = [
  ['1 decode row at 4,000 positions', 1, 1, 4000],
  ['3 decode rows at 2,000', 3, 1, 2000],
  ['4-token chunk at 4,000', 1, 4, 4000],
  ['16-token chunk at 2,000', 1, 16, 2000],
  ['64-token chunk at 4,000', 1, 64, 4000],
  ['512-token chunk at 0', 1, 512, 0],
  ['512-token chunk at 512', 1, 512, 512],
  ['512-token chunk at 3,500', 1, 512, 3500],
];
console.log(`attention benchmark: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${THREADS} threads, bench-0.5b int4, median of ${reps} alternated passes, ${new Date().toISOString().slice(0, 10)}`);
console.log('\n| segment | ours (ms a pass) | ONNX Runtime\'s (ms a pass) | ours ÷ theirs |');
console.log('|---|---|---|---|');
for (const [label, rows, seq, at] of cases) {
  const times: Record<keyof typeof runners, number[]> = { ours: [], onnxruntime: [] };
  const step = { segments: [segment(rows, seq, at)], outputAt: [0], output };
  const count = seq >= 512 ? Math.max(3, Math.ceil(reps / 3)) : reps;
  for (let i = 0; i < count; i++) {
    for (const name of ['ours', 'onnxruntime'] as const) {
      // The other runner's idle threads spin for a while after its pass: let them stop first.
      await new Promise((resolve) => setTimeout(resolve, 50));
      times[name].push((await runners[name].forward(step)) * 1000);
    }
  }
  const [ours, theirs] = [median(times.ours), median(times.onnxruntime)];
  console.log(`| ${label} | ${ours.toFixed(1)} | ${theirs.toFixed(1)} | ${(ours / theirs).toFixed(2)} |`);
}
await Promise.all(Object.values(runners).map((r) => r.release(2)));
