// POST /sleep and /wakeup (API.md "Sleep mode").
import { z } from 'zod';

const model = z.string({ error: 'model must be a string' }).min(1, 'model must not be empty').nullish();

export const sleepRequestSchema = z.object({
  model,
  level: z.union([z.literal(1), z.literal(2)], { error: 'level must be 1 or 2' }).nullish(),
});

export const wakeupRequestSchema = z.object({ model });
