// Acceptance check for the benchmark model, run by hand (too heavy for `npm test`):
//   npx tsx models/check-bench-conversion.ts
// Generates the bench-0.5b checkpoint if missing, converts it to int4 in a child process
// under /usr/bin/time -v (wall time and peak RSS must stay under 2 minutes and 4 GB), then
// loads the result in onnxruntime-node and runs one prefill.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runTimed } from '../bench/shared/timed-process.ts';
import { readManifest } from '../src/model/manifest.ts';
import { MODELS_OUT, ensureCheckpoint } from './recipe.ts';

const LIMIT_SECONDS = 120;
const LIMIT_BYTES = 4 * 1024 ** 3;

const started = Date.now();
const from = ensureCheckpoint('bench-0.5b');
console.log(`checkpoint ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${from}`);

const to = join(MODELS_OUT, '.bench-0.5b-int4-check');
rmSync(to, { recursive: true, force: true });
const cli = join(import.meta.dirname, '..', 'server', 'cli.ts');
const { seconds, peakRssBytes: rssBytes } = runTimed(process.execPath, ['--import', 'tsx', cli, 'convert', '--from', from, '--to', to, '--dtype', 'int4']);
console.log(`int4 conversion: ${seconds.toFixed(1)} s wall, peak RSS ${(rssBytes / 1024 ** 3).toFixed(2)} GiB (limits ${LIMIT_SECONDS} s, ${LIMIT_BYTES / 1024 ** 3} GiB)`);

const manifest = readManifest(to);
const loadStart = Date.now();
const session = await ort.InferenceSession.create(join(to, manifest.graph));
console.log(`loaded in onnxruntime-node in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);
const capacity = 16;
const tokens = [9707, 11, 1879, 0];
const feeds: Record<string, ort.Tensor> = {
  [manifest.inputs.inputIds]: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
  [manifest.inputs.positionIds]: new ort.Tensor('int64', BigInt64Array.from(tokens, (_, i) => BigInt(i)), [1, tokens.length]),
  [manifest.inputs.seqlensK]: new ort.Tensor('int32', Int32Array.of(tokens.length - 1), [1]),
  [manifest.inputs.totalSequenceLength]: new ort.Tensor('int32', Int32Array.of(tokens.length), []),
  [manifest.inputs.logitsIndices]: new ort.Tensor('int64', BigInt64Array.of(BigInt(tokens.length - 1)), [1]),
};
for (const names of [manifest.inputs.pastKeys, manifest.inputs.pastValues]) {
  for (const name of names) feeds[name] = new ort.Tensor('float32', new Float32Array(manifest.numKeyValueHeads * capacity * manifest.headDim), [1, manifest.numKeyValueHeads, capacity, manifest.headDim]);
}
const logits = (await session.run(feeds))[manifest.outputs.logits!]!;
const values = logits.data as Float32Array;
const finite = values.every(Number.isFinite);
console.log(`prefill logits ${JSON.stringify(logits.dims)}, all finite: ${finite}`);
await session.release();
rmSync(to, { recursive: true, force: true });
const ok = seconds < LIMIT_SECONDS && rssBytes < LIMIT_BYTES && finite && logits.dims[1] === manifest.vocabSize;
console.log(ok ? 'PASS' : 'FAIL');
process.exitCode = ok ? 0 : 1;
