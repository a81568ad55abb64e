// POST /sleep and /wakeup (docs/API.md "Sleep mode"), in our shape `{model, level}` and in xLLM's
// `{model_id, master_status}` (master_status 1 = light sleep, 2 = deep sleep).
import { z } from 'zod';

const modelName = (field: string) => z.string({ error: `${field} must be a string` }).min(1, `${field} must not be empty`).nullish();
const sleepLevel = (field: string) => z.union([z.literal(1), z.literal(2)], { error: `${field} must be 1 or 2` }).nullish();

const fields = {
  model: modelName('model'),
  model_id: modelName('model_id'),
  level: sleepLevel('level'),
  master_status: sleepLevel('master_status'),
};

/** The two spellings of one field must agree when both are given. */
function agree(a: string, b: string) {
  return (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    if (body[a] != null && body[b] != null && body[a] !== body[b]) {
      ctx.addIssue({ code: 'custom', path: [b], message: `${b} (${String(body[b])}) disagrees with ${a} (${String(body[a])})` });
    }
  };
}

export const sleepRequestSchema = z.strictObject(fields).superRefine(agree('model', 'model_id')).superRefine(agree('level', 'master_status'));

/** Waking restores whatever level the model slept at, so master_status is taken but changes nothing. */
export const wakeupRequestSchema = sleepRequestSchema;
