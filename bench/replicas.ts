// Prefix-cache hit rate across 3 replicas behind nginx (deploy/nginx/xllm.conf): with its
// prefix affinity (consistent hash on X-Session-Id) against nginx's round-robin. The workload:
// 20 shared system prompts of ~300 tokens, each request one of them (drawn at random) plus a
// short user turn, sent with X-Session-Id naming its system prompt, by 4 concurrent clients.
// Fresh replicas (built-in tiny model, default flags: 8 KV slots, prefix caching on) per mode;
// the hit rate is Σ vllm:prefix_cache_hits_total ÷ Σ vllm:prefix_cache_queries_total over the
// replicas, in prompt tokens.
//   npx tsx bench/replicas.ts [--requests 400]
import { parseArgs } from 'node:util';
import { startServeProcess, type ServeProcess } from '../test/server/serve-process.ts';
import { freePort, startNginx } from '../test/deploy/nginx.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '400' } } });
const REQUESTS = Number(values.requests);
const PROMPTS = 20;
const CLIENTS = 4;

const words = ['river', 'lamp', 'orbit', 'copper', 'meadow', 'signal', 'harbor', 'violet', 'engine', 'summit', 'glacier', 'pepper'];
/** A deterministic pseudo-random sequence in [0, range), so both modes send the same requests. */
function draws(seed: number, count: number, range: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state >> 8) % range;
  });
}

/** System prompt `i`: ~300 tokens, its own words from the first one on (prompts share no prefix). */
const systemPrompt = (i: number) => `Rule set ${i}: ` + draws(1000 + i, 300, words.length).map((w) => words[w]).join(' ');

async function counter(replica: ServeProcess, name: string): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function runMode(affinity: boolean) {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const replicas = await Promise.all(ports.map((port) => startServeProcess(['--port', String(port), '--threads', '1'])));
  const nginx = await startNginx(ports, { affinity });
  try {
    const order = draws(7, REQUESTS, PROMPTS);
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = next++; i < REQUESTS; i = next++) {
          const prompt = order[i]!;
          const res = await fetch(`${nginx.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-session-id': `system-${prompt}` },
            body: JSON.stringify({ model: 'qwen2-tiny', messages: [{ role: 'system', content: systemPrompt(prompt) }, { role: 'user', content: `question ${i}` }], max_tokens: 4 }),
          });
          if (!res.ok) throw new Error(`request ${i}: ${res.status} ${await res.text()}`);
        }
      }),
    );
    const hits = await Promise.all(replicas.map((r) => counter(r, 'vllm:prefix_cache_hits_total')));
    const queries = await Promise.all(replicas.map((r) => counter(r, 'vllm:prefix_cache_queries_total')));
    const share = await Promise.all(replicas.map((r) => counter(r, 'vllm:e2e_request_latency_seconds_count')));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return { hitRate: sum(hits) / sum(queries), queries: sum(queries), hits: sum(hits), share };
  } finally {
    await nginx.stop();
    for (const replica of replicas) replica.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.exited));
  }
}

console.log(`prefix-cache hit rate, 3 replicas behind nginx, ${REQUESTS} requests over ${PROMPTS} system prompts, ${CLIENTS} clients, ${new Date().toISOString().slice(0, 10)}`);
console.log('\n| routing | prompt tokens | found in a prefix cache | hit rate | requests per replica |');
console.log('|---|---|---|---|---|');
for (const affinity of [true, false]) {
  const r = await runMode(affinity);
  console.log(`| ${affinity ? 'prefix affinity (hash on X-Session-Id)' : 'round-robin'} | ${r.queries} | ${r.hits} | ${(100 * r.hitRate).toFixed(1)} % | ${r.share.join(' / ')} |`);
}
