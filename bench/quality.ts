// Quality at the same bits (issue: speed at the same bits): how far our int4 logits sit from
// fp32, against how far llama.cpp's q4_0 sits from its f32, on bench-0.5b (random weights,
// Qwen2.5-0.5B's shapes), as llama.cpp's `perplexity --kl-divergence` measures it: the
// KL divergence of the next-token distributions over the whole vocabulary at every position
// of a fixed text, the full-precision model's against the quantized one's.
//
// Every model reads the same token ids (our tokenizer's, identical to Hugging Face's), so
// each position has the same context on all four: llama.cpp f32 and q4_0 through
// node-llama-cpp (bench/quality/llamacpp-logprobs.ts, an F32 KV cache), ours fp32 and int4
// through the engine's public API (one request per position, `scoreTokenIds` = the whole
// vocabulary). Ours fp32 against llama.cpp f32 shows the floor: the same weights, two
// runtimes.
//   npx tsx bench/quality.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointDir, ensureModel } from '../models/recipe.ts';
import { Engine, readManifest, samplingParams, Tokenizer } from '../src/index.ts';
import { anchorsDir, ensureGguf, type GgufType } from './decode/llamacpp.ts';
import { THREADS, median } from './decode/workload.ts';

const MODEL = 'bench-0.5b';

/** The fixed prompt set: prose, dialogue, numbers, code and Chinese. */
const TEXTS = [
  'The steering committee met on a rainy Tuesday to decide which of the three proposals would be funded first. After two hours of debate, the smallest one won.',
  'User: Can you explain why the sky is blue?\nAssistant: Sunlight scatters off the molecules of the air, and shorter wavelengths scatter the most.',
  'Invoice 4471: 12 units at $38.50 each, shipping $14.20, total $476.20, due on 2026-03-31. Questions? Call +1 415 555 0199.',
  'def fibonacci(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n',
  '长江是中国最长的河流，全长约六千三百公里，流经十一个省级行政区，最后注入东海。',
];

/** log-softmax rows, one per position of every text: [positions × vocab]. */
interface Rows {
  data: Float32Array;
  vocab: number;
}

function llamaCppRows(anchors: string, type: GgufType, sequences: number[][], work: string): Rows {
  const gguf = ensureGguf(anchors, checkpointDir(MODEL), MODEL, type);
  const input = join(work, 'sequences.json');
  const output = join(work, `${type}.f32`);
  writeFileSync(input, JSON.stringify(sequences));
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'quality', 'llamacpp-logprobs.ts'), anchors, gguf, input, output], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const { vocab } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { vocab: number };
  const bytes = readFileSync(output);
  return { data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), vocab };
}

async function ourRows(dtype: 'fp32' | 'int4', sequences: number[][]): Promise<Rows> {
  const dir = ensureModel(MODEL, dtype);
  const engine = await Engine.load(dir, { threads: THREADS, maxBatchSize: 1 });
  try {
    const vocab = readManifest(dir).vocabSize;
    const everyToken = Array.from({ length: vocab }, (_, id) => id);
    const data = new Float32Array(sequences.reduce((n, s) => n + s.length, 0) * vocab);
    let row = 0;
    for (const ids of sequences) {
      for (let end = 1; end <= ids.length; end++, row++) {
        const request = { requestId: `quality-${row}`, promptTokens: ids.slice(0, end), sampling: samplingParams({ temperature: 0 }), maxTokens: 1, ignoreEos: true, scoreTokenIds: everyToken };
        for await (const event of engine.generate(request)) {
          if (event.type !== 'delta') continue;
          const scores = event.tokens[0]!.scores!;
          for (let id = 0; id < vocab; id++) data[row * vocab + id] = scores[id]!.logprob;
        }
      }
    }
    return { data, vocab };
  } finally {
    await engine.close();
  }
}

interface Divergence {
  /** Per position: KL(P‖Q) of the next-token distributions. */
  kl: number[];
  /** Per position: the same at temperature T = the standard deviation of P's logits there. */
  klTempered: number[];
  /** Per position: RMS of Q's logits minus P's (each centred), over the standard deviation of P's. */
  logitError: number[];
  /** Positions where both distributions' most likely token is the same. */
  top1Agrees: number;
  /** Per position: P's σ(logits), and the probability of P's most likely token. */
  referenceSpread: number[];
  referenceTop1: number[];
}

function klOf(p: Float32Array, q: Float32Array, temperature: number): number {
  // log-softmax of logits / T from log-softmax rows (a shift of the logits changes neither).
  const logSumExp = (row: Float32Array) => {
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v / temperature);
    let sum = 0;
    for (const v of row) sum += Math.exp(v / temperature - max);
    return max + Math.log(sum);
  };
  const pNorm = logSumExp(p);
  const qNorm = logSumExp(q);
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const lp = p[i]! / temperature - pNorm;
    if (lp > -Infinity) kl += Math.exp(lp) * (lp - (q[i]! / temperature - qNorm));
  }
  return Math.max(kl, 0);
}

/** KL(P‖Q) and the logit error at each position, over the ids both vocabularies have (a GGUF may drop the padding rows). */
function divergence(p: Rows, q: Rows): Divergence {
  const ids = Math.min(p.vocab, q.vocab);
  const positions = p.data.length / p.vocab;
  const out: Divergence = { kl: [], klTempered: [], logitError: [], top1Agrees: 0, referenceSpread: [], referenceTop1: [] };
  for (let r = 0; r < positions; r++) {
    const pr = p.data.subarray(r * p.vocab, r * p.vocab + ids);
    const qr = q.data.subarray(r * q.vocab, r * q.vocab + ids);
    let pMean = 0;
    let qMean = 0;
    let pBest = 0;
    let qBest = 0;
    for (let i = 0; i < ids; i++) {
      pMean += pr[i]! / ids;
      qMean += qr[i]! / ids;
      if (pr[i]! > pr[pBest]!) pBest = i;
      if (qr[i]! > qr[qBest]!) qBest = i;
    }
    let pVar = 0;
    let errorSq = 0;
    for (let i = 0; i < ids; i++) {
      pVar += (pr[i]! - pMean) ** 2 / ids;
      errorSq += (qr[i]! - qMean - (pr[i]! - pMean)) ** 2 / ids;
    }
    const pStd = Math.sqrt(pVar);
    out.kl.push(klOf(pr, qr, 1));
    out.klTempered.push(klOf(pr, qr, pStd));
    out.logitError.push(Math.sqrt(errorSq) / pStd);
    out.referenceSpread.push(pStd);
    out.referenceTop1.push(Math.exp(pr[pBest]!));
    if (pBest === qBest) out.top1Agrees++;
  }
  return out;
}

const anchors = anchorsDir();
if (!anchors) throw new Error('bench/quality.ts compares with llama.cpp: ../shared/anchors with node-llama-cpp installed is needed');
const tokenizer = await Tokenizer.load(ensureModel(MODEL, 'int4'));
const sequences = TEXTS.map((text) => tokenizer.encode(text));

const work = mkdtempSync(join(tmpdir(), 'xllm-quality-'));
try {
  const llamaF32 = llamaCppRows(anchors, 'f32', sequences, work);
  const llamaQ4 = llamaCppRows(anchors, 'q4_0', sequences, work);
  const oursFp32 = await ourRows('fp32', sequences);
  const oursInt4 = await ourRows('int4', sequences);
  const rows: Array<[string, string, Divergence]> = [
    ['xllm-ts int4', 'xllm-ts fp32', divergence(oursFp32, oursInt4)],
    ['llama.cpp q4_0', 'llama.cpp f32', divergence(llamaF32, llamaQ4)],
    ['xllm-ts int4', 'llama.cpp f32', divergence(llamaF32, oursInt4)],
    ['xllm-ts fp32 (the floor)', 'llama.cpp f32', divergence(llamaF32, oursFp32)],
  ];
  const positions = sequences.reduce((n, s) => n + s.length, 0);
  const e = (x: number) => x.toExponential(2);
  console.log(`\n## Quality at the same bits (\`npx tsx bench/quality.ts\`), ${new Date().toISOString().slice(0, 10)}: ${MODEL}, ${TEXTS.length} texts, ${positions} positions`);
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${e(values.reduce((a, b) => a + b, 0) / values.length)} / ${e(sorted[Math.floor(0.99 * (sorted.length - 1))]!)}`;
  };
  console.log('\n| quantized | against | KL mean / p99 | KL at T = σ(logits), mean / p99 | logit error ÷ σ(logits), mean / p99 | same top-1 |');
  console.log('|---|---|---|---|---|---|');
  for (const [q, p, d] of rows) {
    console.log(`| ${q} | ${p} | ${stats(d.kl)} | ${stats(d.klTempered)} | ${stats(d.logitError)} | ${((100 * d.top1Agrees) / d.kl.length).toFixed(1)} % |`);
  }
  const f32 = rows[1]![2];
  console.log(`\nllama.cpp f32's logits: σ median ${median(f32.referenceSpread).toFixed(1)}; its most likely token's probability, median ${median(f32.referenceTop1).toFixed(4)}, least ${Math.min(...f32.referenceTop1).toFixed(4)}.`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
