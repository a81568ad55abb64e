// `npm start` as a process manager runs it: the seed page's example answers under
// `--served-model-name Qwen2-7B-Instruct`, npm prints no warning of ours, and SIGTERM to the
// PID that was started drains the server and ends every process of the tree.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { postJson } from './harness.ts';

test('npm start: served under the seed name, no npm warnings, SIGTERM to its PID stops the server', async () => {
  const npm = spawn('npm', ['start', '--', '--port', '0', '--log-format', 'json', '--served-model-name', 'Qwen2-7B-Instruct', '--max-model-len', '256', '--threads', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  npm.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  const events: Array<Record<string, unknown>> = [];
  let port = 0;
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: npm.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return; // npm's own banner lines
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      if (event.event === 'listening') port = event.port as number;
      if (event.event === 'model_loaded') resolve();
    });
    void exited.then(() => reject(new Error(`npm start exited early: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;

  const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
  assert.equal(models.data.map((m) => m.id), ['Qwen2-7B-Instruct']);
  // The seed page's chat example, as written (model name included).
  const res = await postJson(`${url}/v1/chat/completions`, {
    model: 'Qwen2-7B-Instruct',
    max_tokens: 10,
    temperature: 0,
    stream: false,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'hello xllm' },
    ],
  });
  assert.is(res.status, 200);

  npm.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.ok(events.some((e) => e.event === 'shutdown' && e.signal === 'SIGTERM'), 'the server itself received SIGTERM');
  assert.ok(events.some((e) => e.event === 'stopped'));
  const after = await fetch(`${url}/health`).then(
    () => 'answered',
    () => 'refused',
  );
  assert.is(after, 'refused', 'nothing listens once npm has exited');
  assert.not.match(stderr, /npm warn/i, stderr);
});

test.run();
