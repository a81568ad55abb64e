// POST /v1/rerank (and /rerank, /v2/rerank): the Jina / Cohere shape that xLLM, vLLM and
// llama.cpp's server accept (docs/API.md "Rerank").
import { z } from 'zod';
import { bool, intAtLeast } from './fields.ts';

export const rerankRequestSchema = z.strictObject({
  model: z.string({ error: 'model must be a string' }).nullish(),
  query: z.string({ error: (issue) => (issue.input === undefined ? 'query is required' : 'query must be a string') }),
  documents: z
    .array(z.union([z.string(), z.strictObject({ text: z.string({ error: 'documents[].text must be a string' }) })], { error: 'documents are strings or {"text": …}' }), {
      error: 'documents must be an array of strings or {"text": …} objects',
    })
    .min(1, 'documents must not be empty'),
  top_n: intAtLeast('top_n', 1).nullish(),
  return_documents: bool('return_documents').nullish(),
  // The reranker's task instruction (Qwen3-Reranker's <Instruct>); a default one otherwise.
  instruction: z.string({ error: 'instruction must be a string' }).nullish(),
});

export type RerankRequest = z.infer<typeof rerankRequestSchema>;
