// POST /v1/embeddings: OpenAI's request shape, with vLLM's add_special_tokens and normalize
// (docs/API.md "Embeddings").
import { z } from 'zod';
import { bool, intAtLeast, requestIdField } from './fields.ts';

/** OpenAI's limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

const tokenList = z.array(intAtLeast('input token ids', 0)).min(1, 'input token lists must not be empty');

export const embeddingsRequestSchema = z.strictObject({
  model: z.string({ error: 'model must be a string' }).nullish(),
  input: z.union([z.string(), z.array(z.string()).min(1), tokenList, z.array(tokenList).min(1)], {
    error: (issue) => (issue.input === undefined ? 'input is required' : 'input must be a string, an array of strings, an array of token ids, or an array of such arrays, and not empty'),
  }),
  encoding_format: z.enum(['float', 'base64'], { error: 'encoding_format must be "float" or "base64"' }).nullish(),
  dimensions: intAtLeast('dimensions', 1).nullish(),
  /** OpenAI's end-user id: metadata for the caller, with no effect on the output. */
  user: z.string({ error: 'user must be a string' }).nullish(),
  /** vLLM: add the tokenizer's special tokens (a BOS, say) around each text (default true). */
  add_special_tokens: bool('add_special_tokens').nullish(),
  /** vLLM: scale each vector to unit length (default: the model's, normally true). */
  normalize: bool('normalize').nullish(),
  request_id: requestIdField,
});

export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** The request's inputs as a list: texts, or token-id lists. */
export function embeddingInputs(input: EmbeddingsRequest['input']): Array<string | number[]> {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as Array<string | number[]>;
}
