// An `image_url.url` → the image's bytes, under the server's media policy: `data:` URLs
// always; `http(s)://` only from the listed hosts (redirects included, so no request ever
// reaches another host); `file://` only below one directory, after resolving symlinks.
import { realpath, stat, readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VisionInputError } from './errors.ts';

export interface MediaPolicy {
  /** Hosts http(s) images may come from, matched exactly (case-insensitive); empty: none. */
  allowedDomains: readonly string[];
  /** Directory file:// images may come from; undefined: none. */
  allowedLocalPath?: string;
  /** Largest image, in bytes, from any source. */
  maxBytes: number;
  /** Deadline for a whole http(s) download, redirects included. */
  timeoutMs: number;
}

export const DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024;
export const DEFAULT_MEDIA_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 5;

const dataImageTypes = new Set(['image/jpeg', 'image/jpg', 'image/png', 'image/webp', 'image/gif']);

export async function resolveImageUrl(url: string, policy: MediaPolicy): Promise<Uint8Array> {
  if (/^data:/i.test(url)) return decodeDataUrl(url, policy.maxBytes);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new VisionInputError('image_url.url is not a valid URL');
  }
  switch (parsed.protocol) {
    case 'http:':
    case 'https:':
      return download(parsed, policy);
    case 'file:':
      return readLocal(parsed, policy);
    default:
      throw new VisionInputError(`image URLs must be data:, http(s): or file:, got ${parsed.protocol}`);
  }
}

function decodeDataUrl(url: string, maxBytes: number): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw new VisionInputError('data: URL has no comma before its data');
  const [mime = '', ...params] = url.slice(5, comma).split(';').map((s) => s.trim().toLowerCase());
  if (!dataImageTypes.has(mime)) throw new VisionInputError(`data: URL must be a JPEG, PNG, WebP or GIF image, got "${mime || 'no media type'}"`);
  if (!params.includes('base64')) throw new VisionInputError('data: URL images must be base64-encoded (";base64,")');
  const text = url.slice(comma + 1).replace(/\s+/g, '');
  // Padding is optional; a length of 4k+1 cannot come from any byte string.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw new VisionInputError('data: URL is not valid base64');
  }
  if (Math.floor((text.length * 3) / 4) > maxBytes + 2) throw tooLarge(maxBytes);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  if (bytes.length === 0) throw new VisionInputError('data: URL holds no image data');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function tooLarge(maxBytes: number): VisionInputError {
  return new VisionInputError(`image is larger than ${maxBytes} bytes`);
}

function checkHost(url: URL, policy: MediaPolicy): void {
  const host = url.hostname.toLowerCase();
  if (!policy.allowedDomains.some((d) => d.toLowerCase() === host)) {
    throw new VisionInputError(`image host "${host}" is not allowed (--allowed-media-domains)`);
  }
}

async function download(start: URL, policy: MediaPolicy): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(policy.timeoutMs);
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      checkHost(url, policy);
      const response = await fetch(url, { redirect: 'manual', signal });
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        await response.body?.cancel();
        if (!location) throw new VisionInputError(`image host "${url.hostname}" answered HTTP ${response.status} without a Location`);
        if (hop === MAX_REDIRECTS) throw new VisionInputError(`image URL redirected more than ${MAX_REDIRECTS} times`);
        url = new URL(location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new VisionInputError(`image URL redirected to a ${url.protocol} URL`);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new VisionInputError(`fetching the image from "${url.hostname}" failed: HTTP ${response.status}`);
      }
      return await readCapped(response, policy.maxBytes);
    }
  } catch (error) {
    if (error instanceof VisionInputError) throw error;
    if (signal.aborted) throw new VisionInputError(`fetching the image took longer than ${policy.timeoutMs} ms`);
    throw new VisionInputError(`fetching the image from "${url.hostname}" failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      // Leaving the loop cancels the stream.
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

async function readLocal(url: URL, policy: MediaPolicy): Promise<Uint8Array> {
  if (policy.allowedLocalPath === undefined) throw new VisionInputError('file:// images are not allowed (--allowed-local-media-path)');
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    throw new VisionInputError('file:// image URL must name a local path');
  }
  const root = resolve(policy.allowedLocalPath);
  const realRoot = await realpath(root).catch(() => {
    throw new Error(`--allowed-local-media-path ${root} does not exist`);
  });
  // Refuse paths outside by name before touching the file system, so a refusal says
  // nothing about which files exist there; then again after resolving symlinks.
  if (!inside(root, path) && !inside(realRoot, path)) throw outsideRoot();
  const real = await realpath(path).catch(() => {
    throw new VisionInputError('file:// image not found');
  });
  if (!inside(realRoot, real)) throw outsideRoot();
  const info = await stat(real);
  if (!info.isFile()) throw new VisionInputError('file:// image is not a regular file');
  if (info.size > policy.maxBytes) throw tooLarge(policy.maxBytes);
  return new Uint8Array(await readFile(real));
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function outsideRoot(): VisionInputError {
  return new VisionInputError('file:// image is outside --allowed-local-media-path');
}
