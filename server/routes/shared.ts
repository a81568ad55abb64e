// Steps every endpoint takes: parse a JSON body against its schema, check the model name.
import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { ApiError, fromZodError } from '../errors.ts';

/** @param allowEmpty an empty body reads as `{}` (endpoints whose fields are all optional). */
export async function parseBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S, allowEmpty = false): Promise<z.infer<S>> {
  let json: unknown;
  try {
    // The raw request, not c.req.text(): Hono caches that text on the context, which a stream
    // keeps alive to its end, so a 3 MB body would stay in memory as long as its answer runs.
    const text = await c.req.raw.text();
    json = allowEmpty && text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'The request body is not valid JSON.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'The request body must be a JSON object.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

export function checkModel(c: Context<AppEnv>, model: string | null | undefined): string {
  const names = c.var.modelNames;
  if (model == null) return names[0]!;
  if (!names.includes(model)) throw new ApiError(404, 'UNKNOWN', `The model \`${model}\` does not exist.`, 'model');
  return model;
}

/** Sets the id the response and its `x-request-id` carry. */
export function useRequestId(c: Context<AppEnv>, requestId: string | null | undefined, prefix: string): string {
  if (requestId == null) return `${prefix}-${c.var.internalId}`;
  c.set('requestId', requestId);
  return requestId;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
