// Embedding throughput (issue: the rest of the online API): texts per second for 128-token
// texts in batches of 32, on bench-0.5b (Qwen2.5-0.5B shapes, random weights):
//   - ours: Engine.embed on the graph converted for embeddings, each text tokenized by our
//     tokenizer, the batch prefilled together (32 rows × 128 tokens in one pass); fp32 (the
//     same bits as the peer) and int4 (what `xllm serve --task embed` converts to on a CPU);
//   - transformers.js: its `feature-extraction` pipeline on the optimum export of the same
//     weights, fp32 (its tokenizer, one batched run), last-token pooling, normalized.
// Each measurement runs in a child process of its own (no thread pool or heap of the other
// left behind); they run back to back in rounds and a ratio is the median of the
// per-round ratios. The vectors of both are compared too (cosine similarity).
//   npx tsx bench/embeddings.ts [--rounds 3] [--batches 3]
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { basename, dirname } from 'node:path';
import { ensureModel } from '../models/recipe.ts';
import { median } from './decode/workload.ts';

const TEXT_TOKENS = 128;
const BATCH = 32;
/** Ordinary English words, each one token of the Qwen vocabulary after a space. */
const WORDS = ['river', 'apple', 'green', 'house', 'music', 'light', 'stone', 'water', 'paper', 'cloud', 'table', 'story', 'train', 'field', 'glass', 'dream'];

type Side = 'ours-fp32' | 'ours-int4' | 'transformers.js';
interface Figures {
  textsPerSecond: number;
  /** The batch's vectors, for the comparison. */
  vectors: number[][];
}

/** The batch's texts: 128 words each, varied per text, so every text is 128 tokens. */
function texts(): string[] {
  return Array.from({ length: BATCH }, (_, t) => Array.from({ length: TEXT_TOKENS }, (_, i) => WORDS[(i * 7 + t * 3 + ((i * t) % 5)) % WORDS.length]).join(' '));
}

async function measureOurs(batches: number, int4: boolean): Promise<Figures> {
  const { Engine } = await import('../src/index.ts');
  const engine = await Engine.load(ensureModel('bench-0.5b', int4 ? 'embed-int4' : 'embed'), { maxBatchSize: BATCH, prefillChunkTokens: BATCH * TEXT_TOKENS, maxModelLen: 2 * TEXT_TOKENS });
  const batch = texts();
  const run = async () => {
    const tokens = batch.map((text) => engine.tokenizer.encode(text, { addSpecialTokens: true }));
    if (tokens.some((t) => t.length !== TEXT_TOKENS)) throw new Error(`a text is not ${TEXT_TOKENS} tokens`);
    return Promise.all(tokens.map((promptTokens, i) => engine.embed({ requestId: `b${i}`, promptTokens, pooling: 'last', normalize: true })));
  };
  const vectors = (await run()).map((r) => Array.from(r.embedding)); // warm-up
  const started = performance.now();
  for (let b = 0; b < batches; b++) await run();
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  return { textsPerSecond: (batches * BATCH) / seconds, vectors };
}

async function measureTransformersJs(batches: number): Promise<Figures> {
  const dir = ensureModel('bench-0.5b', 'optimum-embed');
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  const extractor = await pipeline('feature-extraction', basename(dir), { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: availableParallelism() } });
  const batch = texts();
  const run = () => extractor(batch, { pooling: 'last_token', normalize: true });
  const first = await run(); // warm-up
  const vectors = (first.tolist() as number[][]).map((v) => v.map(Number));
  const started = performance.now();
  for (let b = 0; b < batches; b++) await run();
  const seconds = (performance.now() - started) / 1000;
  await extractor.dispose();
  return { textsPerSecond: (batches * BATCH) / seconds, vectors };
}

function measure(side: Side, batches: number): Figures {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--measure', side, '--batches', String(batches)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures;
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => ((dot += x * b[i]!), (na += x * x), (nb += b[i]! * b[i]!)));
  return dot / Math.sqrt(na * nb);
}

async function main(argv: string[]): Promise<void> {
  const option = (name: string, fallback: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
  const batches = option('--batches', 3);
  if (argv.includes('--measure')) {
    const side = argv[argv.indexOf('--measure') + 1] as Side;
    console.log(JSON.stringify(side === 'transformers.js' ? await measureTransformersJs(batches) : await measureOurs(batches, side === 'ours-int4')));
    return;
  }
  const rounds = option('--rounds', 3);
  for (const variant of ['embed', 'embed-int4', 'optimum-embed'] as const) ensureModel('bench-0.5b', variant);
  console.log(`# embeddings: bench-0.5b, ${BATCH} texts × ${TEXT_TOKENS} tokens a batch, ${batches} batches a measurement, ${availableParallelism()} threads (${cpus()[0]?.model ?? 'cpu'})\n`);
  const sides: Side[] = ['ours-fp32', 'ours-int4', 'transformers.js'];
  const figures = new Map<Side, number[]>(sides.map((side) => [side, []]));
  const agreement = new Map<Side, number>();
  for (let round = 0; round < rounds; round++) {
    const measured = new Map(sides.map((side) => [side, measure(side, batches)]));
    const peer = measured.get('transformers.js')!;
    for (const side of sides) {
      const m = measured.get(side)!;
      figures.get(side)!.push(m.textsPerSecond);
      agreement.set(side, Math.min(agreement.get(side) ?? 1, ...m.vectors.map((v, i) => cosine(v, peer.vectors[i]!))));
    }
    console.log(`round ${round + 1}: ${sides.map((side) => `${side} ${measured.get(side)!.textsPerSecond.toFixed(2)}`).join(', ')} texts/s`);
  }
  const peer = figures.get('transformers.js')!;
  console.log(`\n| | texts/s (median) | per round | ÷ transformers.js (median of per-round ratios) | lowest cosine with transformers.js's vectors |`);
  console.log(`|---|---|---|---|---|`);
  for (const side of sides) {
    const values = figures.get(side)!;
    const ratios = values.map((x, i) => x / peer[i]!);
    console.log(`| ${side} | ${median(values).toFixed(2)} | ${values.map((x) => x.toFixed(2)).join(' / ')} | ${median(ratios).toFixed(2)}× | ${agreement.get(side)!.toFixed(6)} |`);
  }
}

void main(process.argv.slice(2));
