// The server's media side: the vlm flags, and prepareChatImages (what the chat route calls on
// the vlm backend) turning image parts into prepared images or 400s naming the part.
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseServeArgs, serveHelp } from '../../server/config.ts';
import { ApiError } from '../../server/errors.ts';
import { mediaPolicy, prepareChatImages, type ChatImageOptions } from '../../server/media/chat-images.ts';
import type { ChatMessage } from '../../server/protocol/chat.ts';
import { qwen25VlImageProcessor } from '../../src/vision/config.ts';
import { preprocessImage } from '../../src/vision/preprocess.ts';
import { syntheticImage } from './helpers.ts';

const parse = (...argv: string[]) => {
  const parsed = parseServeArgs(argv);
  if (parsed.action !== 'serve') throw new Error(`unexpected ${parsed.action}`);
  return parsed.config;
};

test('media flags: defaults, kebab and snake spellings, several domains', () => {
  const defaults = parse();
  assert.equal([defaults.allowedMediaDomains, defaults.allowedLocalMediaPath, defaults.limitImagePerPrompt], [[], undefined, 8]);
  const config = parse('--allowed-media-domains', 'a.example', 'b.example', '--allowed_local_media_path=/srv/img', '--limit_image_per_prompt', '2', '--served-model-name', 'm');
  assert.equal(config.allowedMediaDomains, ['a.example', 'b.example']);
  assert.is(config.allowedLocalMediaPath, '/srv/img');
  assert.is(config.limitImagePerPrompt, 2);
  assert.equal(config.servedModelNames, ['m']);
  assert.throws(() => parse('--limit-image-per-prompt', '-1'), /--limit-image-per-prompt must be an integer ≥ 0/);
  assert.throws(() => parse('--allowed-media-domains'), /--allowed-media-domains needs at least one value/);
  for (const flag of ['--allowed-media-domains', '--allowed-local-media-path', '--limit-image-per-prompt']) assert.ok(serveHelp().includes(flag), flag);
});

const first = syntheticImage(60, 45, 1);
const second = syntheticImage(30, 90, 2);
const pngUrl = async (img: typeof first) =>
  `data:image/png;base64,${(await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer()).toString('base64')}`;

const options = (over: Partial<ChatImageOptions> = {}): ChatImageOptions => ({
  policy: mediaPolicy({ allowedMediaDomains: [], allowedLocalMediaPath: undefined }),
  limitImagePerPrompt: 8,
  processor: qwen25VlImageProcessor,
  ...over,
});

function chat(...urls: string[]): ChatMessage[] {
  return [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: [{ type: 'text', text: 'compare' }, ...urls.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] },
  ];
}

async function rejected(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, ApiError);
    return error as ApiError;
  }
  throw new Error('resolved');
}

test('images come back prepared, in prompt order', async () => {
  const images = await prepareChatImages(chat(await pngUrl(first), await pngUrl(second)), options());
  assert.is(images.length, 2);
  assert.equal(images[0], await preprocessImage(first, qwen25VlImageProcessor));
  assert.equal(images[1], await preprocessImage(second, qwen25VlImageProcessor));
  assert.equal(await prepareChatImages(chat(), options()), []);
});

test('more images than --limit-image-per-prompt is a 400 naming the first extra part', async () => {
  const url = await pngUrl(first);
  const error = await rejected(prepareChatImages(chat(url, url, url), options({ limitImagePerPrompt: 2 })));
  assert.equal([error.status, error.code, error.param], [400, 'INVALID_ARGUMENT', 'messages[1].content[3]']);
  assert.match(error.message, /At most 2 images may be given per prompt, got 3/);
});

test('a bad image is a 400 naming its part and the problem', async () => {
  const good = await pngUrl(first);
  const cases: [string, RegExp][] = [
    ['data:image/png;base64,!!!', /not valid base64/],
    [`data:image/png;base64,${Buffer.from('<svg/>').toString('base64')}`, /unsupported image format/],
    ['https://images.example/cat.png', /host "images.example" is not allowed/],
    ['file:///etc/passwd', /file:\/\/ images are not allowed/],
  ];
  for (const [url, pattern] of cases) {
    const error = await rejected(prepareChatImages(chat(good, url), options()));
    assert.equal([error.status, error.code, error.param], [400, 'INVALID_ARGUMENT', 'messages[1].content[2]']);
    assert.match(error.message, pattern);
    assert.ok(error.message.startsWith('messages[1].content[2]: '), error.message);
  }
});

test.run();
