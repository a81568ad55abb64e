// POST /sleep, POST /wakeup, GET /is_sleeping (docs/API.md "Sleep mode").
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { sleepRequestSchema, wakeupRequestSchema } from '../protocol/sleep.ts';
import { checkModel, parseBody } from './shared.ts';

export async function sleep(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, sleepRequestSchema, true);
  checkModel(c, body.model ?? body.model_id);
  const admission = c.var.admission;
  if (admission.count > 0) {
    throw new ApiError(409, 'FAILED_PRECONDITION', `Cannot sleep while ${admission.count} request(s) are in flight.`);
  }
  // Closed to new requests before the engine starts releasing memory.
  admission.sleeping = true;
  try {
    await c.var.engine.sleep(body.level ?? body.master_status ?? 1);
  } catch (error) {
    admission.sleeping = false;
    throw error;
  }
  return c.json({ is_sleeping: true });
}

export async function wakeup(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, wakeupRequestSchema, true);
  checkModel(c, body.model ?? body.model_id);
  await c.var.engine.wakeUp();
  c.var.admission.sleeping = false;
  return c.json({ is_sleeping: false });
}

export function isSleeping(c: Context<AppEnv>): Response {
  return c.json({ is_sleeping: c.var.admission.sleeping });
}
