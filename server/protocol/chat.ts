// POST /v1/chat/completions request schema (docs/API.md "Chat and completions requests").
import { z } from 'zod';
import { MAX_TOP_LOGPROBS, type GenerationRequest, type SamplingParams } from '../../src/index.ts';
import { ApiError } from '../errors.ts';
import { bool, intAtLeast, intBetween, orNull } from './fields.ts';
import { checkBeamCandidates, checkGeneration, generationFields, toGenerationRequest } from './generation.ts';

const textPart = z.strictObject({ type: z.literal('text'), text: z.string({ error: 'text must be a string' }) });
const imagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z.string({ error: 'image_url.url must be a string' }),
    // OpenAI's resolution hint; images are always taken at the model's own resolution.
    detail: z.literal('auto', { error: 'image_url.detail: only "auto" is supported (images are taken at the model\'s own resolution)' }).nullish(),
  }),
});
const contentPart = z.discriminatedUnion('type', [textPart, imagePart], {
  error: 'content parts must be {"type":"text","text":…} or {"type":"image_url","image_url":{"url":…}}',
});

const message = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool'], { error: 'role must be one of system, user, assistant, tool' }),
  content: z.union([z.string(), z.array(contentPart)], { error: 'content must be a string or an array of parts' }),
  name: z.string().nullish(),
});

export type ChatMessage = z.infer<typeof message>;

export const chatRequestSchema = z
  .strictObject({
    ...generationFields,
    messages: z.array(message, { error: 'messages must be an array of messages' }).min(1, 'messages must not be empty'),
    max_completion_tokens: intAtLeast('max_completion_tokens', 1).nullish(),
    logprobs: bool('logprobs').nullish(),
    top_logprobs: intBetween('top_logprobs', 0, MAX_TOP_LOGPROBS).nullish(),
    chat_template_kwargs: z.record(z.string(), z.unknown(), { error: 'chat_template_kwargs must be an object' }).nullish(),
  })
  .superRefine((body, ctx) => {
    checkGeneration(body, ctx);
    const beam = (body.beam_width ?? 1) > 1;
    if (body.top_logprobs != null && body.logprobs !== true && !beam) {
      ctx.addIssue({ code: 'custom', path: ['top_logprobs'], message: 'top_logprobs requires logprobs to be true' });
    }
    checkBeamCandidates(body, 'top_logprobs', body.top_logprobs, ctx);
  });

export type ChatRequest = z.infer<typeof chatRequestSchema>;

export function chatGenerationRequest(
  body: ChatRequest,
  defaults: Partial<SamplingParams>,
): Omit<GenerationRequest, 'requestId' | 'promptTokens'> {
  // Per-token logprobs only when asked for, with beam search as without it (and as on
  // completions); top_logprobs alone still sets the beam candidates.
  return toGenerationRequest(body, orNull(body.max_completion_tokens ?? body.max_tokens), {
    logprobs: body.logprobs === true ? (body.top_logprobs ?? 0) : undefined,
    beamCandidates: orNull(body.top_logprobs),
  }, defaults);
}

export interface ImageUrlPart {
  url: string;
  /** Where the part sits in the request, for error messages: `messages[1].content[0]`. */
  param: string;
}

/** The image parts of all messages, in prompt order (the order of the template's placeholders). */
export function imageUrlParts(messages: readonly ChatMessage[]): ImageUrlPart[] {
  return messages.flatMap((msg, i) =>
    typeof msg.content === 'string'
      ? []
      : msg.content.flatMap((part, j) => (part.type === 'image_url' ? [{ url: part.image_url.url, param: `messages[${i}].content[${j}]` }] : [])),
  );
}

/** Where images are not taken: the llm backend, and every endpoint but chat on the vlm backend. */
export function checkTextOnly(msg: ChatMessage, index: number): void {
  if (typeof msg.content === 'string') return;
  const image = msg.content.findIndex((part) => part.type !== 'text');
  if (image >= 0) {
    throw new ApiError(
      400,
      'INVALID_ARGUMENT',
      'image input is taken only by /v1/chat/completions on the vlm backend (--backend vlm)',
      `messages[${index}].content[${image}]`,
    );
  }
}
