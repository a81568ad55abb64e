// Embedding throughput (issue: the rest of the online API): texts per second for 128-token
// texts in batches of 32, on bench-0.5b (Qwen2.5-0.5B shapes, random weights, fp32 both):
//   - ours: Engine.embed on the graph converted for embeddings, each text tokenized by our
//     tokenizer, the batch prefilled together (32 rows × 128 tokens in one pass);
//   - transformers.js: its `feature-extraction` pipeline on the optimum export of the same
//     weights (its tokenizer, one batched run), last-token pooling, normalized.
// Each measurement runs in a child process of its own (no thread pool or heap of the other
// left behind); the two run back to back in rounds and the ratio is the median of the
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

type Side = 'ours' | 'transformers.js';
interface Figures {
  textsPerSecond: number;
  /** The batch's vectors, for the comparison. */
  vectors: number[][];
}

/** The batch's texts: 128 words each, varied per text, so every text is 128 tokens. */
function texts(): string[] {
  return Array.from({ length: BATCH }, (_, t) => Array.from({ length: TEXT_TOKENS }, (_, i) => WORDS[(i * 7 + t * 3 + ((i * t) % 5)) % WORDS.length]).join(' '));
}

async function measureOurs(batches: number): Promise<Figures> {
  const { Engine } = await import('../src/index.ts');
  const engine = await Engine.load(ensureModel('bench-0.5b', 'embed'), { maxBatchSize: BATCH, prefillChunkTokens: BATCH * TEXT_TOKENS, maxModelLen: 2 * TEXT_TOKENS });
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
    console.log(JSON.stringify(side === 'ours' ? await measureOurs(batches) : await measureTransformersJs(batches)));
    return;
  }
  const rounds = option('--rounds', 3);
  ensureModel('bench-0.5b', 'embed');
  ensureModel('bench-0.5b', 'optimum-embed');
  console.log(`# embeddings: bench-0.5b fp32, ${BATCH} texts × ${TEXT_TOKENS} tokens a batch, ${batches} batches a measurement, ${availableParallelism()} threads (${cpus()[0]?.model ?? 'cpu'})\n`);
  const ours: number[] = [];
  const peer: number[] = [];
  let agreement = 1;
  for (let round = 0; round < rounds; round++) {
    const a = measure('ours', batches);
    const b = measure('transformers.js', batches);
    ours.push(a.textsPerSecond);
    peer.push(b.textsPerSecond);
    agreement = Math.min(agreement, ...a.vectors.map((v, i) => cosine(v, b.vectors[i]!)));
    console.log(`round ${round + 1}: ours ${a.textsPerSecond.toFixed(1)} texts/s, transformers.js ${b.textsPerSecond.toFixed(1)} texts/s (${(a.textsPerSecond / b.textsPerSecond).toFixed(2)}×)`);
  }
  const ratios = ours.map((x, i) => x / peer[i]!);
  console.log(`\n| | texts/s (median) | per round |`);
  console.log(`|---|---|---|`);
  console.log(`| ours (Engine.embed) | ${median(ours).toFixed(1)} | ${ours.map((x) => x.toFixed(1)).join(' / ')} |`);
  console.log(`| transformers.js feature-extraction | ${median(peer).toFixed(1)} | ${peer.map((x) => x.toFixed(1)).join(' / ')} |`);
  console.log(`\nours ÷ transformers.js: ${median(ratios).toFixed(2)}× (per round ${ratios.map((r) => r.toFixed(2)).join(' / ')}); lowest cosine similarity between the two's vectors: ${agreement.toFixed(6)}`);
}

void main(process.argv.slice(2));
