import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/engine/errors.ts';
import { openSse } from '../../server/sse.ts';
import { ApiError } from '../../server/errors.ts';
import { mergeAsync } from '../../server/generation/merge.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function* items(values: unknown[], gapMs = 0, failWith?: Error) {
  for (const value of values) {
    if (gapMs) await sleep(gapMs);
    yield value;
  }
  if (failWith) throw failWith;
}

const noop = () => {};

test('events are framed as data lines and end with [DONE]', async () => {
  const closes: string[] = [];
  const response = await openSse(items([{ a: 1 }, { b: 'é\n' }]), { pingMs: 10_000, onCancel: noop, onClose: (o) => closes.push(o.outcome) });
  assert.is(response.status, 200);
  assert.ok(response.headers.get('content-type')!.startsWith('text/event-stream'));
  assert.is(await response.text(), 'data: {"a":1}\n\ndata: {"b":"é\\n"}\n\ndata: [DONE]\n\n');
  assert.equal(closes, ['done']);
});

test('an error before the first chunk is thrown (the route answers plain JSON)', async () => {
  const failing = items([], 0, new EngineError('RESOURCE_EXHAUSTED', 'queue full'));
  try {
    await openSse(failing, { pingMs: 10_000, onCancel: noop });
    assert.unreachable('should throw');
  } catch (error) {
    assert.instance(error, EngineError);
  }
});

test('an error after the first chunk is one error event, then the end without [DONE]', async () => {
  const response = await openSse(items([{ a: 1 }], 0, new ApiError(400, 'INVALID_ARGUMENT', 'bad', 'x')), { pingMs: 10_000, onCancel: noop });
  const text = await response.text();
  assert.is(
    text,
    'data: {"a":1}\n\ndata: {"error":{"message":"bad","type":"invalid_request_error","param":"x","code":"INVALID_ARGUMENT"}}\n\n',
  );
});

test('an unknown error after the start leaks no message', async () => {
  const response = await openSse(items([1], 0, new Error('secret prompt text')), { pingMs: 10_000, onCancel: noop });
  const text = await response.text();
  assert.not.ok(text.includes('secret'));
  assert.ok(text.includes('"code":"INTERNAL"'));
});

test('an idle stream sends : ping and keeps the pending chunk', async () => {
  const response = await openSse(items([1, 2], 60), { pingMs: 15, onCancel: noop });
  const text = await response.text();
  assert.ok(text.includes(': ping\n\n'));
  assert.is(text.replaceAll(': ping\n\n', ''), 'data: 1\n\ndata: 2\n\ndata: [DONE]\n\n');
});

test('the stream pulls from its source only as the reader reads (backpressure)', async () => {
  let produced = 0;
  async function* counting() {
    for (let i = 0; i < 100; i++) {
      produced++;
      yield i;
    }
  }
  const response = await openSse(counting(), { pingMs: 10_000, onCancel: noop });
  const reader = response.body!.getReader();
  await reader.read();
  await sleep(20);
  assert.ok(produced <= 3, `produced ${produced} chunks for one read`);
  await reader.cancel();
});

test('a reader that cancels calls onCancel and ends the source', async () => {
  let cancelled = 0;
  let finalized = false;
  async function* endless() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      finalized = true;
    }
  }
  const outcomes: string[] = [];
  const response = await openSse(endless(), { pingMs: 10_000, onCancel: () => cancelled++, onClose: (o) => outcomes.push(o.outcome) });
  const reader = response.body!.getReader();
  await reader.read();
  await reader.cancel();
  await sleep(5);
  assert.is(cancelled, 1);
  assert.ok(finalized);
  assert.equal(outcomes, ['cancelled']);
});

test('mergeAsync interleaves sources and keeps every item', async () => {
  const merged: unknown[] = [];
  for await (const x of mergeAsync([items(['a1', 'a2', 'a3'], 5), items(['b1', 'b2'], 7)])) merged.push(x);
  assert.equal([...merged].sort(), ['a1', 'a2', 'a3', 'b1', 'b2']);
  assert.equal(merged.filter((x) => String(x).startsWith('a')), ['a1', 'a2', 'a3']);
  assert.ok(merged.indexOf('b1') < merged.indexOf('a3'), 'b1 arrives before a3 finishes');
});

test('mergeAsync fails with the first failing source and stops the others', async () => {
  let stopped = false;
  async function* slow() {
    try {
      for (;;) {
        await sleep(5);
        yield 'slow';
      }
    } finally {
      stopped = true;
    }
  }
  try {
    for await (const _ of mergeAsync([slow(), items([1], 12, new Error('boom'))])) void _;
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'boom');
  }
  await sleep(15);
  assert.ok(stopped);
});

test.run();
