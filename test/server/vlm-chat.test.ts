// The vlm backend on the tiny Qwen2.5-VL model: the official `openai` client sends a chat with a
// data: URL image (streaming and not) and gets the tokens the engine gives for the same image
// prepared by src/vision; bad images, too many images and refused URLs are 400s naming the
// part; a request refused while asleep fetches no image; the text-only endpoints are 404;
// start-up refuses a model on the wrong backend.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureModel } from '../../models/recipe.ts';
import { main as serveMain } from '../../server/commands/serve.ts';
import { Engine } from '../../src/engine/engine.ts';
import { samplingParams } from '../../src/sampling/params.ts';
import { decodeImage, expandImagePads, preprocessImage } from '../../src/vision/index.ts';
import { MODEL, postJson, startServer, type TestServer } from './harness.ts';

const vlDir = ensureModel('tiny-vl', 'fp32');
const MAX_TOKENS = 5;
let engine: Engine;
let server: TestServer;
let client: OpenAI;

/** A 90×60 PNG gradient, different per `seed`. */
async function pngImage(seed: number): Promise<Buffer> {
  const width = 90;
  const height = 60;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * (seed + 3) + Math.floor(i / (width * 3)) * 7) & 255;
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

const imagePart = (url: string) => ({ type: 'image_url' as const, image_url: { url } });
const userWith = (...parts: Array<{ type: 'text'; text: string } | ReturnType<typeof imagePart>>) => [{ role: 'user' as const, content: parts }];
const describe = { type: 'text' as const, text: 'Describe the image.' };

/** What the engine itself generates for `messages`, images prepared by src/vision. */
async function engineAnswer(messages: ReturnType<typeof userWith>, pngs: Buffer[]) {
  const vision = engine.vision!;
  const images = await Promise.all(pngs.map(async (png) => preprocessImage(await decodeImage(png), vision.processor)));
  const text = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  const promptTokens = expandImagePads(engine.tokenizer.encode(text, { addSpecialTokens: false }), images, vision.tokens.imagePad);
  const tokens: number[] = [];
  const logprobs: number[] = [];
  const request = { requestId: 'direct', promptTokens, images, sampling: samplingParams({ temperature: 0 }), maxTokens: MAX_TOKENS, ignoreEos: true, logprobs: 0 };
  for await (const event of engine.generate(request)) {
    if (event.type !== 'delta') continue;
    tokens.push(...event.tokens.map((t) => t.tokenId));
    logprobs.push(...event.tokens.map((t) => t.logprob!));
  }
  return { tokens, logprobs, text: engine.tokenizer.decode(tokens, { skipSpecialTokens: true }), promptTokens: promptTokens.length };
}

test.before(async () => {
  engine = await Engine.load(vlDir, { threads: 1, maxBatchSize: 2, maxModelLen: 512 });
  server = await startServer({ backend: 'vlm', limitImagePerPrompt: 2 }, engine);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'EMPTY', maxRetries: 0 });
});
test.after(async () => {
  await server.close();
  await engine.close();
});

async function assertHealthy(): Promise<void> {
  const res = await fetch(`${server.url}/health`);
  assert.is(res.status, 200, 'the server stays healthy');
}

test('chat with a data: URL image: the answer carries the engine tokens, with and without streaming', async () => {
  const pngs = [await pngImage(1), await pngImage(2)];
  const messages = userWith(describe, imagePart(dataUrl(pngs[0]!)), { type: 'text', text: 'and' }, imagePart(dataUrl(pngs[1]!)));
  const want = await engineAnswer(messages, pngs);
  const extra = { ignore_eos: true } as object;

  const res = await client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX_TOKENS, temperature: 0, logprobs: true, ...extra });
  const content = res.choices[0]!.logprobs!.content!;
  assert.equal(
    content.map((entry) => (entry as unknown as { token_id: number }).token_id),
    want.tokens,
  );
  // Logprobs depend on every image row: images swapped or mis-decoded would show here.
  content.forEach((entry, s) => assert.ok(Math.abs(entry.logprob - want.logprobs[s]!) < 1e-5, `token ${s}: ${entry.logprob} vs ${want.logprobs[s]}`));
  assert.is(res.choices[0]!.message.content, want.text);
  assert.is(res.usage!.prompt_tokens, want.promptTokens, 'prompt tokens count every image pad');

  const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX_TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true }, ...extra });
  let text = '';
  let promptTokens = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    promptTokens = chunk.usage?.prompt_tokens ?? promptTokens;
  }
  assert.is(text, want.text);
  assert.is(promptTokens, want.promptTokens);
  await assertHealthy();
});

async function expectInvalid(messages: unknown, param: string, message: RegExp): Promise<void> {
  const res = await postJson(`${server.url}/v1/chat/completions`, { model: MODEL, messages, max_tokens: 2 });
  const body = (await res.json()) as { error: { code: string; param: string; message: string } };
  assert.is(res.status, 400);
  assert.is(body.error.code, 'INVALID_ARGUMENT');
  assert.is(body.error.param, param);
  assert.match(body.error.message, message);
  await assertHealthy();
}

test('a broken image, too many images and a refused URL are 400 INVALID_ARGUMENT naming the part', async () => {
  const good = imagePart(dataUrl(await pngImage(1)));
  await expectInvalid(userWith(describe, imagePart('data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA')), 'messages[0].content[1]', /messages\[0\]\.content\[1\]/);
  await expectInvalid(userWith(good, good, describe, good), 'messages[0].content[3]', /At most 2 images/);
  await expectInvalid(userWith(describe, imagePart('http://example.com/cat.png')), 'messages[0].content[1]', /example\.com|not allowed/);
  await expectInvalid(userWith({ type: 'text', text: 'a literal <|image_pad|>' }, good), 'messages', /placeholders/);
});

test('asleep, a chat with images is refused with 503 before any image is fetched', async () => {
  let fetched = 0;
  const images = createServer((_req, res) => {
    fetched++;
    res.writeHead(200, { 'content-type': 'image/png' }).end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(images.address() as AddressInfo).port}/cat.png`;
  const asleep = await startServer({ backend: 'vlm', allowedMediaDomains: ['127.0.0.1'] }, engine);
  try {
    assert.is((await postJson(`${asleep.url}/sleep`, {})).status, 200);
    const res = await postJson(`${asleep.url}/v1/chat/completions`, { model: MODEL, messages: userWith(describe, imagePart(url)), max_tokens: 2 });
    assert.is(res.status, 503);
    assert.is(((await res.json()) as { error: { code: string } }).error.code, 'UNAVAILABLE');
    assert.is(fetched, 0, 'admission comes before the image work');
  } finally {
    assert.is((await postJson(`${asleep.url}/wakeup`, {})).status, 200);
    await asleep.close();
    images.close();
  }
});

test('/v1/sample and /v1/completions are 404 UNKNOWN on the vlm backend', async () => {
  const sample = await postJson(`${server.url}/v1/sample`, { model: MODEL, prompt: 'a <x>', selector: { type: 'literal', value: '<x>' } });
  assert.is(sample.status, 404);
  assert.is(((await sample.json()) as { error: { code: string } }).error.code, 'UNKNOWN');
  const completion = await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'hello' });
  assert.is(completion.status, 404);
  const body = (await completion.json()) as { error: { code: string; message: string } };
  assert.is(body.error.code, 'UNKNOWN');
  assert.match(body.error.message, /chat only/);
  await assertHealthy();
});

/** serve's exit code, or 'started' (then stopped) if it went on to serve. */
async function serveExit(args: string[]): Promise<number | 'started'> {
  const run = serveMain([...args, '--port', '0']);
  let timer: NodeJS.Timeout | undefined;
  const started = new Promise<'started'>((resolve) => (timer = setTimeout(() => resolve('started'), 20_000)));
  const outcome = await Promise.race([run, started]);
  clearTimeout(timer);
  if (outcome === 'started') {
    process.emit('SIGTERM');
    await run;
  }
  return outcome;
}

test('xllm serve refuses a text model on --backend vlm and a VL model on --backend llm', async () => {
  const printed: string[] = [];
  const original = console.error;
  console.error = (line: string) => printed.push(line);
  try {
    assert.is(await serveExit(['--backend', 'vlm', '--model', ensureModel('tiny', 'fp32')]), 2);
    assert.match(printed[0]!, /--backend vlm needs a vision-language model/);
    assert.is(await serveExit(['--model', vlDir]), 2);
    assert.match(printed[1]!, /serve it with --backend vlm/);
  } finally {
    console.error = original;
  }
});

test.run();
