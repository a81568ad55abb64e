// `xllm tokenize` prints the same ids as the Rust tokenizer, and rejects bad usage.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../server/commands/tokenize.ts';
import { loadPair, MODEL_DIRS, rustIds } from './reference.ts';

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (line: string) => out.push(line);
  console.error = (line: string) => err.push(line);
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('prints the ids of the text', async () => {
  const text = 'Hello 世界<|im_end|>';
  const { rust } = await loadPair(MODEL_DIRS.qwen3);
  const result = await capture(['--model', MODEL_DIRS.qwen3, text]);
  assert.is(result.code, 0);
  assert.is(result.out, (await rustIds(rust, text, true)).join(' '));
});

test('bad usage and a missing model are errors with a message', async () => {
  assert.is((await capture([])).code, 2);
  const missing = await capture(['--model', '/nonexistent', 'x']);
  assert.is(missing.code, 1);
  assert.match(missing.err, /cannot read/);
});

test.run();
