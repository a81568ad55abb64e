// POST /tokenize and /detokenize (docs/API.md, beyond xLLM).
import { z } from 'zod';
import { bool, requiredString, tokenIds } from './fields.ts';
import { chatRequestSchema } from './chat.ts';

export const tokenizeRequestSchema = z
  .strictObject({
    model: requiredString('model'),
    prompt: z.string({ error: 'prompt must be a string' }).nullish(),
    messages: chatRequestSchema.shape.messages.nullish(),
    add_special_tokens: bool('add_special_tokens').nullish(),
    chat_template_kwargs: chatRequestSchema.shape.chat_template_kwargs,
  })
  .superRefine((body, ctx) => {
    if ((body.prompt == null) === (body.messages == null)) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'exactly one of prompt or messages is required' });
    }
  });

export const detokenizeRequestSchema = z.strictObject({
  model: requiredString('model'),
  tokens: tokenIds('tokens'),
});
