// The README's curl examples, run as written against the server it tells the reader to start
// (`--served-model-name Qwen2-7B-Instruct`), in the README's order; only the port is this
// test's own. Each must answer 2xx with the documented shape; the error example must print
// exactly the body shown under it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServeProcess } from '../server/serve-process.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** Every `curl` command of the README's sh blocks (continuation lines joined), with the comment line after it. */
function curlExamples(): Array<{ command: string; expected?: string }> {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const examples: Array<{ command: string; expected?: string }> = [];
  for (const block of blocks) {
    const lines = block.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith('curl ')) continue;
      let command = lines[i]!;
      while (command.endsWith('\\')) command += `\n${lines[++i]}`;
      // A multi-line -d '…' body runs until its closing quote.
      while ((command.match(/'/g) ?? []).length % 2 === 1) command += `\n${lines[++i]}`;
      const next = lines[i + 1];
      examples.push({ command, expected: next?.startsWith('# {') ? next.slice(2) : undefined });
    }
  }
  return examples;
}

test('every curl example of the README works as written', async () => {
  const examples = curlExamples();
  assert.ok(examples.length >= 14, `found ${examples.length} curl examples`);
  const server = await startServeProcess(['--served-model-name', 'Qwen2-7B-Instruct', '--max-model-len', '512', '--threads', '1']);
  const port = new URL(server.url).port;
  try {
    for (const { command, expected } of examples) {
      const local = command.replaceAll(':9977', `:${port}`);
      const output = execFileSync('sh', ['-c', `${local} -sS -w '\\n%{http_code}'`], { encoding: 'utf8' });
      const status = Number(output.slice(output.lastIndexOf('\n') + 1));
      const body = output.slice(0, output.lastIndexOf('\n'));
      if (expected) {
        assert.is(body, expected, command);
        continue;
      }
      assert.ok(status >= 200 && status < 300, `${command}\n→ ${status} ${body.slice(0, 300)}`);
      if (body.startsWith('data: ')) assert.ok(body.trimEnd().endsWith('data: [DONE]'), `${command}: the stream ends with [DONE]`);
      // A Responses body carries `"error": null`; an error body carries an object there.
      else if (!command.includes('/metrics')) assert.not.ok((JSON.parse(body) as { error?: unknown }).error, command);
    }
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test.run();
