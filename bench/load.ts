// Load test of `xllm serve`: 64 concurrent clients mixing streaming chat, beam search,
// /v1/sample, malformed and poisoned requests (ids outside the vocabulary, out-of-range
// values), 3 MB bodies, 200k-character prompts and clients that hang up mid-stream.
// Afterwards it checks: no 5xx but the documented 429/503, no leaked slots (/metrics running
// = 0), /health 200, and memory:
// - plain run (--seconds, default 60): resident memory of the second vs the last 20 s within ±10 %;
// - soak (--minutes N): RSS and the V8 heap sampled every 10 s and printed as a table; the
//   least-squares slope of RSS over the last 5 minutes must stay under 1 MB/min, and the band
//   (min..max RSS after the first minute) is reported.
//   npx tsx bench/load.ts [--clients 64] [--seconds 60 | --minutes 10] [--model DIR]
import { parseArgs } from 'node:util';
import { startServeProcess } from '../test/server/serve-process.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '60' },
    minutes: { type: 'string' },
    model: { type: 'string' },
  },
});
const clients = Number(values.clients);
const soak = values.minutes !== undefined;
const seconds = soak ? Number(values.minutes) * 60 : Number(values.seconds);
const sampleEveryMs = soak ? 10_000 : 1000;

const server = await startServeProcess(values.model ? ['--model', values.model] : []);
const { child, url: base } = server;
const model = (((await (await fetch(`${base}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!).id;

type Kind = 'stream_chat' | 'beam' | 'sample' | 'malformed' | 'poisoned' | 'big_body' | 'huge_prompt' | 'hangup';
const kinds: Kind[] = ['stream_chat', 'stream_chat', 'beam', 'sample', 'malformed', 'poisoned', 'stream_chat', 'big_body', 'huge_prompt', 'hangup'];
const bigContent = 'x'.repeat(3 * 2 ** 20); // a 3 MB message: refused as too long after tokenizing
const hugePrompt = 'lorem ipsum dolor '.repeat(11_112).slice(0, 200_000);
const poisonedBodies = [
  { logit_bias: { '99999999': 5 } },
  { stop_token_ids: [99_999_999] },
  { top_p: 7 },
  { response_format: { type: 'nonsense' } },
];
const statuses = new Map<string, number>();
const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
let unexpected = 0;

async function one(kind: Kind, i: number): Promise<void> {
  const post = (path: string, body: string, signal?: AbortSignal) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  const messages = [{ role: 'user', content: `load test ${i} 你好` }];
  let res: Response;
  if (kind === 'stream_chat') {
    res = await post('/v1/chat/completions', JSON.stringify({ model, messages, max_tokens: 16, stream: true, stream_options: { include_usage: true } }));
    const text = res.ok ? await res.text() : await res.text();
    if (res.ok && !text.endsWith('data: [DONE]\n\n')) unexpected++;
  } else if (kind === 'beam') {
    res = await post('/v1/completions', JSON.stringify({ model, prompt: `beam ${i}`, max_tokens: 8, beam_width: 2, logprobs: 2 }));
    await res.text();
  } else if (kind === 'sample') {
    res = await post('/v1/sample', JSON.stringify({ model, prompt: `q <|im_start|> a ${i} <|im_start|>`, selector: { type: 'literal', value: '<|im_start|>' } }));
    await res.text();
  } else if (kind === 'malformed') {
    res = await post('/v1/chat/completions', i % 2 ? '{"model": ' : JSON.stringify({ model, messages, temperature: 9 }));
    await res.text();
  } else if (kind === 'poisoned') {
    res = await post('/v1/chat/completions', JSON.stringify({ model, messages, max_tokens: 4, ...poisonedBodies[i % poisonedBodies.length] }));
    await res.text();
  } else if (kind === 'big_body') {
    res = await post('/v1/chat/completions', JSON.stringify({ model, messages: [{ role: 'user', content: bigContent }], max_tokens: 4 }));
    await res.text();
  } else if (kind === 'huge_prompt') {
    res = await post('/v1/completions', JSON.stringify({ model, prompt: hugePrompt, max_tokens: 4 }));
    await res.text();
  } else {
    const controller = new AbortController();
    res = await post('/v1/completions', JSON.stringify({ model, prompt: `hang ${i}`, max_tokens: 64, ignore_eos: true, stream: true }), controller.signal);
    if (res.ok) {
      await res.body!.getReader().read();
      controller.abort();
    } else await res.text();
  }
  count(`${kind} ${res.status}`);
}

const started = Date.now();
const deadline = started + seconds * 1000;
interface MemorySample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}
const samples: MemorySample[] = [];
const sampler = setInterval(async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const gauge = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
  samples.push({
    t: (Date.now() - started) / 1000,
    rss: gauge('process_resident_memory_bytes'),
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
    heapTotal: gauge('nodejs_heap_size_total_bytes'),
    external: gauge('nodejs_external_memory_bytes'),
  });
}, sampleEveryMs);

let done = 0;
await Promise.all(
  Array.from({ length: clients }, async (_, client) => {
    for (let i = client; Date.now() < deadline; i += clients) {
      try {
        await one(kinds[i % kinds.length]!, i);
        done++;
      } catch (error) {
        if ((error as Error).name !== 'AbortError') {
          count(`client_error ${(error as Error).message}`);
        }
      }
    }
  }),
);
clearInterval(sampler);

// Cancelled sequences leave their slot at the engine's next step.
await new Promise((resolve) => setTimeout(resolve, 1000));
const metrics = await (await fetch(`${base}/metrics`)).text();
const running = Number(metrics.split('\n').find((l) => l.startsWith('xllm_requests_running '))!.split(' ')[1]);
const health = (await fetch(`${base}/health`)).status;
const MiB = 2 ** 20;
const mean = (from: number, to: number) => {
  const window = samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rss);
  return window.reduce((a, b) => a + b, 0) / window.length;
};
/** Least-squares slope of RSS in MB per minute over samples with t ≥ from. */
const slope = (from: number) => {
  const window = samples.filter((s) => s.t >= from);
  const mt = window.reduce((a, s) => a + s.t, 0) / window.length;
  const mr = window.reduce((a, s) => a + s.rss, 0) / window.length;
  const cov = window.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0);
  const varT = window.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return (cov / varT) * 60 / 1e6;
};
const second = mean(20, 40);
const last = mean(seconds - 20, seconds);
const drift = (last - second) / second;
const settled = samples.filter((s) => s.t >= 60).map((s) => s.rss);
const band = { low: Math.min(...settled), high: Math.max(...settled) };
const lastFiveSlope = slope(seconds - 300);
const fiveXX = [...statuses].filter(([key]) => /\s5\d\d$/.test(key) && !key.endsWith(' 503'));
child.kill('SIGTERM');
const exitCode = await new Promise((resolve) => child.on('exit', resolve));

console.log(`requests completed: ${done} in ${seconds} s with ${clients} clients (${(done / seconds).toFixed(1)} req/s)`);
console.log('status counts:');
for (const [key, n] of [...statuses].sort()) console.log(`  ${key}: ${n}`);
console.log(`streams without [DONE]: ${unexpected}`);
if (soak) {
  console.log('\n| t (s) | RSS (MiB) | V8 heap used (MiB) | V8 heap total (MiB) | external (MiB) |');
  console.log('|---|---|---|---|---|');
  for (const s of samples) {
    const cells = [s.rss, s.heapUsed, s.heapTotal, s.external].map((b) => (b / MiB).toFixed(1));
    console.log(`| ${s.t.toFixed(0)} | ${cells.join(' | ')} |`);
  }
  console.log(`\nRSS band after the first minute: ${(band.low / MiB).toFixed(1)}..${(band.high / MiB).toFixed(1)} MiB (${((band.high - band.low) / MiB).toFixed(1)} MiB)`);
  console.log(`RSS slope over the last 5 minutes: ${lastFiveSlope.toFixed(2)} MB/min (limit 1)`);
} else {
  console.log(`RSS mean 20-40 s: ${(second / MiB).toFixed(1)} MiB, last 20 s: ${(last / MiB).toFixed(1)} MiB, drift ${(drift * 100).toFixed(2)} %`);
}
console.log(`after: xllm_requests_running=${running}, /health ${health}, shutdown exit ${exitCode}`);
const memoryOk = soak ? lastFiveSlope < 1 : Math.abs(drift) <= 0.1;
const ok = fiveXX.length === 0 && running === 0 && health === 200 && memoryOk && unexpected === 0;
console.log(ok ? 'PASS' : `FAIL${fiveXX.length ? ` (5xx: ${fiveXX.map(([k]) => k).join(', ')})` : ''}`);
process.exitCode = ok ? 0 : 1;
