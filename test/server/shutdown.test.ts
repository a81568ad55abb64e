// `xllm serve` as a real process: SIGTERM lets in-flight streams finish, or cancels them at the
// deadline, and the process exits 0.
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sseData } from './harness.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

function startCli(extra: string[]): Promise<ServeProcess> {
  return startServeProcess(['--max-model-len', '256', '--max-batch-size', '2', '--threads', '1', ...extra]);
}

function streamCompletion(url: string, maxTokens: number) {
  return fetch(`${url}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'qwen2-tiny', prompt: 'hello', max_tokens: maxTokens, ignore_eos: true, stream: true }),
  });
}

async function readAfterFirstChunk(res: Response, onFirst: () => void): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  onFirst();
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
  return text;
}

test('SIGTERM: an in-flight stream finishes, new connections are refused, exit 0', async () => {
  const server = await startCli(['--shutdown-timeout', '60']);
  const res = await streamCompletion(server.url, 40);
  const text = await readAfterFirstChunk(res, () => server.child.kill('SIGTERM'));
  const events = sseData(text);
  assert.is(events.at(-1), '[DONE]');
  const finish = (events.at(-2) as { choices: Array<{ finish_reason: string }> }).choices[0]!.finish_reason;
  assert.is(finish, 'length');
  assert.is(await server.exited, 0);
  try {
    await fetch(`${server.url}/health`);
    assert.unreachable('the listener should be closed');
  } catch (error) {
    assert.instance(error, TypeError);
  }
});

test('SIGTERM past the deadline: the stream ends with an UNAVAILABLE error event, exit 0', async () => {
  const server = await startCli(['--shutdown-timeout', '0']);
  const res = await streamCompletion(server.url, 250);
  const text = await readAfterFirstChunk(res, () => server.child.kill('SIGTERM'));
  const events = sseData(text);
  assert.not.ok(events.includes('[DONE]'));
  assert.is((events.at(-1) as { error: { code: string } }).error.code, 'UNAVAILABLE');
  assert.is(await server.exited, 0);
});

test('--help prints the flags and exits 0; a bad flag exits 2', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', ...args]);
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => resolve({ code, out, err }));
    });
  const help = await run(['--help']);
  assert.is(help.code, 0);
  assert.ok(help.out.includes('--max-concurrent-requests'));
  const bad = await run(['--max_concurrent_requests', 'lots']);
  assert.is(bad.code, 2);
  assert.ok(bad.err.includes('--max-concurrent-requests must be an integer'));
});

test.run();
