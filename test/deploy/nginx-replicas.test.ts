// deploy/nginx/xllm.conf as shipped, in front of 3 real `xllm serve` replicas of the built-in
// model, on loopback with Debian's nginx: 60 s of mixed traffic (completions and chat streams,
// across 20 session ids), one replica SIGKILLed at 20 s and started again at 40 s.
// What must hold: nginx moves requests off the dead replica (no 5xx reaches a client), only
// streams already flowing from the killed replica end early, and the restarted replica takes
// traffic again. `.ci/run` installs nginx and sets XLLM_REQUIRE_NGINX, so CI never skips this.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServeProcess, type ServeProcess } from '../server/serve-process.ts';
import { NGINX, freePort, nginxInstalled, startNginx, type Nginx } from './nginx.ts';

const SECONDS = { total: 60, kill: 20, restart: 40 };
const CLIENTS = 6;
const SESSIONS = 20;

function startReplica(port: number): Promise<ServeProcess> {
  return startServeProcess(['--port', String(port), '--max-model-len', '256', '--max-batch-size', '4', '--threads', '1']);
}

interface Outcome {
  kind: 'completion' | 'stream';
  status: number;
  startedAt: number;
  endedAt: number;
  /** Streams: whether `data: [DONE]` arrived. */
  complete: boolean;
  error?: string;
}

async function oneRequest(url: string, kind: Outcome['kind'], session: string, t0: number): Promise<Outcome> {
  const startedAt = (performance.now() - t0) / 1000;
  const headers = { 'content-type': 'application/json', 'x-session-id': session };
  const body =
    kind === 'completion'
      ? { model: 'qwen2-tiny', prompt: `session ${session}: hello`, max_tokens: 8 }
      : { model: 'qwen2-tiny', messages: [{ role: 'system', content: `You serve session ${session}.` }, { role: 'user', content: 'hi' }], max_tokens: 96, stream: true };
  const path = kind === 'completion' ? '/v1/completions' : '/v1/chat/completions';
  let status = 0;
  let text = '';
  try {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    status = res.status;
    text = await res.text();
    return { kind, status, startedAt, endedAt: (performance.now() - t0) / 1000, complete: kind === 'completion' || text.includes('data: [DONE]') };
  } catch (error) {
    return { kind, status, startedAt, endedAt: (performance.now() - t0) / 1000, complete: false, error: (error as Error).message };
  }
}

const available = nginxInstalled();
if (!available && process.env.XLLM_REQUIRE_NGINX) throw new Error(`${NGINX} is missing: apt-get install nginx`);
if (!available) console.warn(`nginx-replicas.test.ts: skipped, ${NGINX} is not installed (apt-get install nginx; CI installs it)`);
const maybe = available ? test : test.skip;

maybe('3 replicas behind the shipped nginx config: one killed and restarted under load, no 5xx, the restarted one serves again', async () => {
  const replicaPorts = await Promise.all([freePort(), freePort(), freePort()]);
  const replicas: ServeProcess[] = await Promise.all(replicaPorts.map(startReplica));
  let nginx: Nginx | undefined;
  try {
    nginx = await startNginx(replicaPorts);
    const url = nginx.url;

    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    const outcomes: Outcome[] = [];
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; elapsed() < SECONDS.total; i++) {
        const session = `s${(client * 7 + i) % SESSIONS}`;
        outcomes.push(await oneRequest(url, i % 2 === 0 ? 'completion' : 'stream', session, t0));
      }
    });
    const victim = 1;
    const chaos = (async () => {
      await new Promise((resolve) => setTimeout(resolve, SECONDS.kill * 1000));
      replicas[victim]!.child.kill('SIGKILL');
      await replicas[victim]!.exited;
      const killedAt = elapsed();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (SECONDS.restart - elapsed()) * 1000)));
      replicas[victim] = await startReplica(replicaPorts[victim]!);
      return { killedAt, readyAt: elapsed() };
    })();
    await Promise.all(clients);
    const { killedAt, readyAt } = await chaos;

    const failed = outcomes.filter((o) => o.status >= 500 || (o.status === 0 && o.error));
    const cut = outcomes.filter((o) => o.status === 200 && !o.complete);
    const byStatus = new Map<number, number>();
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    const retried = nginx.accessLog().filter((line) => line.includes(', ')).length;
    console.log(
      `nginx + 3 replicas, ${SECONDS.total} s: ${outcomes.length} requests, statuses ${JSON.stringify(Object.fromEntries(byStatus))}, ` +
        `retried on another replica by nginx: ${retried}, streams cut by the kill: ${cut.length}, killed at ${killedAt.toFixed(1)} s, back at ${readyAt.toFixed(1)} s`,
    );

    assert.equal(failed, [], 'no request failed: nginx moved them off the dead replica');
    assert.ok(outcomes.length > 100, `enough traffic: ${outcomes.length}`);
    for (const stream of cut) {
      assert.ok(stream.startedAt <= killedAt && stream.endedAt >= killedAt - 1 && stream.endedAt <= killedAt + 5, `only streams flowing at the kill end early: ${JSON.stringify(stream)}`);
    }
    // The restarted process counts only its own requests: it took traffic again.
    const served = await (await fetch(`${replicas[victim]!.url}/metrics`)).text();
    const handled = [...served.matchAll(/^xllm_requests_total\{endpoint="\/v1\/(?:chat\/)?completions",status="200"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(handled > 0, 'the restarted replica served requests after it came back');
  } finally {
    await nginx?.stop();
    for (const replica of replicas) replica.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.exited));
  }
});

test.run();
