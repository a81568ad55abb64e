// Load test of `xllm serve`: 64 concurrent clients for 60 s mixing streaming chat, beam search,
// /v1/sample, malformed requests and clients that hang up mid-stream. Afterwards it checks: no
// 5xx but the documented 429/503, no leaked slots (/metrics running = 0), resident memory of
// the second vs the last 20 s within ±10 %, /health 200.
//   npx tsx bench/load.ts [--clients 64] [--seconds 60] [--model DIR]
import { parseArgs } from 'node:util';
import { startServeProcess } from '../test/server/serve-process.ts';

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '64' }, seconds: { type: 'string', default: '60' }, model: { type: 'string' } },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);

const server = await startServeProcess(values.model ? ['--model', values.model] : []);
const { child, url: base } = server;
const model = (((await (await fetch(`${base}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!).id;

type Kind = 'stream_chat' | 'beam' | 'sample' | 'malformed' | 'hangup';
const kinds: Kind[] = ['stream_chat', 'stream_chat', 'beam', 'sample', 'malformed', 'hangup'];
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
const rss: Array<{ t: number; bytes: number }> = [];
const sampler = setInterval(async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  if (line) rss.push({ t: (Date.now() - started) / 1000, bytes: Number(line.split(' ')[1]) });
}, 1000);

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
const mean = (from: number, to: number) => {
  const window = rss.filter((s) => s.t >= from && s.t < to).map((s) => s.bytes);
  return window.reduce((a, b) => a + b, 0) / window.length;
};
const second = mean(20, 40);
const last = mean(seconds - 20, seconds);
const drift = (last - second) / second;
const fiveXX = [...statuses].filter(([key]) => /\s5\d\d$/.test(key) && !key.endsWith(' 503'));
child.kill('SIGTERM');
const exitCode = await new Promise((resolve) => child.on('exit', resolve));

console.log(`requests completed: ${done} in ${seconds} s with ${clients} clients (${(done / seconds).toFixed(1)} req/s)`);
console.log('status counts:');
for (const [key, n] of [...statuses].sort()) console.log(`  ${key}: ${n}`);
console.log(`streams without [DONE]: ${unexpected}`);
console.log(`RSS mean 20-40 s: ${(second / 2 ** 20).toFixed(1)} MiB, last 20 s: ${(last / 2 ** 20).toFixed(1)} MiB, drift ${(drift * 100).toFixed(2)} %`);
console.log(`after: xllm_requests_running=${running}, /health ${health}, shutdown exit ${exitCode}`);
const ok = fiveXX.length === 0 && running === 0 && health === 200 && Math.abs(drift) <= 0.1 && unexpected === 0;
console.log(ok ? 'PASS' : `FAIL${fiveXX.length ? ` (5xx: ${fiveXX.map(([k]) => k).join(', ')})` : ''}`);
process.exitCode = ok ? 0 : 1;
