// Child-process entry of bench/quality.ts: llama.cpp's log-softmax over the whole vocabulary
// at every position of the given token sequences (teacher-forced through node-llama-cpp's
// controlledEvaluate, loaded from ../shared/anchors' installed packages; an F32 KV cache and
// no flash attention, as the anchors' own references use). Writes the rows, float32, one
// sequence after another, to OUT_FILE.
//   node --import tsx bench/quality/llamacpp-logprobs.ts ANCHORS_DIR MODEL.gguf SEQUENCES.json OUT_FILE
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { THREADS } from '../decode/workload.ts';

const [anchors, gguf, sequencesFile, outFile] = process.argv.slice(2);
if (!anchors || !gguf || !sequencesFile || !outFile) {
  console.error('usage: llamacpp-logprobs.ts ANCHORS_DIR MODEL.gguf SEQUENCES.json OUT_FILE');
  process.exit(2);
}
const sequences = JSON.parse(readFileSync(sequencesFile, 'utf8')) as number[][];
const entry = createRequire(join(anchors, 'package.json')).resolve('node-llama-cpp');
// Typed loosely on purpose: node-llama-cpp is the anchors' package, not a dependency here.
const { getLlama } = (await import(pathToFileURL(entry).href)) as { getLlama(options: object): Promise<any> };
const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, maxThreads: THREADS });
const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0, useMmap: true });
const longest = Math.max(...sequences.map((s) => s.length));
const context = await model.createContext({
  contextSize: Math.max(256, longest + 16),
  batchSize: Math.max(64, longest),
  threads: THREADS,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});
const sequence = context.getSequence();

const rows: Float32Array[] = [];
let vocab = 0;
for (const ids of sequences) {
  await sequence.clearHistory();
  const input = ids.map((id) => [id, { generateNext: { logits: true } }]);
  const results = (await sequence.controlledEvaluate(input)) as Array<{ next: { logits: Map<number, number> } } | undefined>;
  for (let i = 0; i < ids.length; i++) {
    const logits = results[i]!.next.logits;
    vocab ||= logits.size;
    const row = new Float32Array(vocab);
    let max = -Infinity;
    for (const value of logits.values()) max = Math.max(max, value);
    let sum = 0;
    for (const value of logits.values()) sum += Math.exp(value - max);
    const logSum = max + Math.log(sum);
    row.fill(-Infinity);
    for (const [token, value] of logits) row[token] = value - logSum;
    rows.push(row);
  }
}
const out = new Float32Array(rows.length * vocab);
rows.forEach((row, i) => out.set(row, i * vocab));
writeFileSync(outFile, new Uint8Array(out.buffer));
console.log(JSON.stringify({ rows: rows.length, vocab }));
await context.dispose();
await model.dispose();
await llama.dispose();
