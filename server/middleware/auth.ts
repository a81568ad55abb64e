// `--api-key`: every endpoint but the probes (/health, /ready) and /metrics wants
// `Authorization: Bearer KEY`, or `x-api-key: KEY` as Anthropic's clients send it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

const openPaths = new Set(['/health', '/ready', '/metrics']);

const digest = (text: string) => createHash('sha256').update(text).digest();

export function apiKeyAuth(apiKey: string): MiddlewareHandler<AppEnv> {
  const expected = digest(apiKey);
  return async (c, next) => {
    if (openPaths.has(c.req.path)) return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const key = bearer ?? c.req.header('x-api-key');
    // Comparing digests keeps the time independent of where the strings differ.
    if (key === undefined || !timingSafeEqual(digest(key.trim()), expected)) {
      throw new ApiError(401, 'UNAUTHENTICATED', key !== undefined ? 'Invalid API key.' : 'Missing "Authorization: Bearer" header.');
    }
    return next();
  };
}
