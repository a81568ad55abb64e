// `--api-key`: every endpoint but the probes (/health, /ready) and /metrics wants `Authorization: Bearer KEY`.
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
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Comparing digests keeps the time independent of where the strings differ.
    if (!match || !timingSafeEqual(digest(match[1]!.trim()), expected)) {
      throw new ApiError(401, 'UNAUTHENTICATED', match ? 'Invalid API key.' : 'Missing "Authorization: Bearer" header.');
    }
    return next();
  };
}
