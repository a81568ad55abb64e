// resolveImageUrl under the media policy: data: URLs, http(s) from allowed hosts only (checked
// again on every redirect, against a local server that records what reached it), size cap,
// timeout, and file:// confined to one directory (symlinks resolved).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VisionInputError } from '../../src/vision/errors.ts';
import { resolveImageUrl, type MediaPolicy } from '../../src/vision/resolve-url.ts';

const image = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 255);
const requests: string[] = [];
let server: Server;
let port = 0;
let dir = '';

const policy = (over: Partial<MediaPolicy> = {}): MediaPolicy => ({
  allowedDomains: ['127.0.0.1'],
  allowedLocalPath: join(dir, 'allowed'),
  maxBytes: 1000,
  timeoutMs: 2000,
  ...over,
});

async function refused(url: string, pattern: RegExp, p: MediaPolicy = policy()): Promise<void> {
  try {
    await resolveImageUrl(url, p);
  } catch (error) {
    assert.instance(error, VisionInputError);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`${url} resolved`);
}

test.before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/img') return void res.end(image);
    if (req.url === '/big') return void res.end(new Uint8Array(5000));
    if (req.url === '/big-chunked') {
      res.write(new Uint8Array(800));
      return void res.end(new Uint8Array(800));
    }
    if (req.url === '/to-allowed') return void res.writeHead(302, { location: '/img' }).end();
    if (req.url === '/to-refused') return void res.writeHead(302, { location: `http://localhost:${port}/img` }).end();
    if (req.url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (req.url === '/hang') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), 'xllm-media-'));
  mkdirSync(join(dir, 'allowed', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'allowed', 'sub', 'a.png'), image);
  writeFileSync(join(dir, 'allowed', 'big.png'), new Uint8Array(5000));
  writeFileSync(join(dir, 'outside', 'secret.png'), image);
  symlinkSync(join(dir, 'outside', 'secret.png'), join(dir, 'allowed', 'escape.png'));
  symlinkSync(join(dir, 'outside'), join(dir, 'allowed', 'escape-dir'));
});

test.after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('data: URLs decode base64 images', async () => {
  const b64 = Buffer.from(image).toString('base64');
  assert.equal(await resolveImageUrl(`data:image/png;base64,${b64}`, policy()), image);
  assert.equal(await resolveImageUrl(`DATA:Image/JPEG;base64,${b64.replace(/=+$/, '')}`, policy()), image);
});

test('data: URLs: bad base64, wrong media type, not base64, too large', async () => {
  await refused('data:image/png;base64,iVBOR!!w0KGgo=', /not valid base64/);
  await refused('data:image/png;base64,AAAAA', /not valid base64/);
  await refused(`data:text/plain;base64,${Buffer.from(image).toString('base64')}`, /JPEG, PNG, WebP or GIF image, got "text\/plain"/);
  await refused('data:image/svg+xml;base64,PHN2Zy8+', /got "image\/svg\+xml"/);
  await refused('data:image/png,%89PNG', /must be base64-encoded/);
  await refused('data:image/png;base64', /no comma/);
  await refused('data:image/png;base64,', /no image data/);
  await refused(`data:image/png;base64,${Buffer.alloc(1001).toString('base64')}`, /larger than 1000 bytes/);
});

test('http: an allowed host is fetched, following redirects on allowed hosts', async () => {
  assert.equal(await resolveImageUrl(`http://127.0.0.1:${port}/img`, policy()), image);
  assert.equal(await resolveImageUrl(`http://127.0.0.1:${port}/to-allowed`, policy()), image);
});

test('http: other hosts are refused without a request, also through a redirect', async () => {
  requests.length = 0;
  await refused(`http://localhost:${port}/img`, /host "localhost" is not allowed/);
  await refused(`http://127.0.0.1:${port}/img`, /host "127.0.0.1" is not allowed/, policy({ allowedDomains: [] }));
  assert.equal(requests, []);
  await refused(`http://127.0.0.1:${port}/to-refused`, /host "localhost" is not allowed/);
  assert.equal(requests, ['/to-refused']);
  await refused(`http://127.0.0.1:${port}/to-file`, /redirected to a file: URL/);
  await refused(`http://127.0.0.1:${port}/loop`, /redirected more than 5 times/);
});

test('http: size cap (declared and streamed), HTTP errors, timeout', async () => {
  await refused(`http://127.0.0.1:${port}/big`, /larger than 1000 bytes/);
  await refused(`http://127.0.0.1:${port}/big-chunked`, /larger than 1000 bytes/);
  await refused(`http://127.0.0.1:${port}/missing`, /failed: HTTP 404/);
  await refused(`http://127.0.0.1:${port}/hang`, /took longer than 200 ms/, policy({ timeoutMs: 200 }));
});

test('file: only below the allowed path, after resolving symlinks', async () => {
  const url = (...parts: string[]) => pathToFileURL(join(dir, ...parts)).href;
  assert.equal(await resolveImageUrl(url('allowed', 'sub', 'a.png'), policy()), image);
  await refused(url('outside', 'secret.png'), /outside --allowed-local-media-path/);
  await refused(`file://${join(dir, 'allowed')}/../outside/secret.png`, /outside --allowed-local-media-path/);
  await refused(`file://${join(dir, 'allowed')}/%2e%2e/outside/secret.png`, /outside --allowed-local-media-path/);
  await refused(url('allowed', 'escape.png'), /outside --allowed-local-media-path/);
  await refused(url('allowed', 'escape-dir', 'secret.png'), /outside --allowed-local-media-path/);
  await refused(url('allowed', 'nope.png'), /not found/);
  await refused(url('allowed', 'sub'), /not a regular file/);
  await refused(url('allowed', 'big.png'), /larger than 1000 bytes/);
  await refused(url('allowed', 'sub', 'a.png'), /file:\/\/ images are not allowed/, policy({ allowedLocalPath: undefined }));
});

test('other schemes and malformed URLs are refused', async () => {
  await refused('ftp://127.0.0.1/img.png', /must be data:, http\(s\): or file:, got ftp:/);
  await refused('not a url', /not a valid URL/);
});

test.run();
