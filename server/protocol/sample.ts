// POST /v1/sample request schema, with the exact validation messages of API.md "/v1/sample".
import { z } from 'zod';
import { requestIdField, requiredString } from './fields.ts';

export const maxSampleLogprobs = 5;
const logprobsMessage = `logprobs must be between 1 and ${maxSampleLogprobs}`;

export const sampleRequestSchema = z.object({
  model: requiredString('model'),
  prompt: requiredString('prompt'),
  selector: z.object(
    {
      type: z.literal('literal', { error: 'selector.type must be literal' }),
      value: requiredString('selector.value'),
    },
    { error: (issue) => (issue.input === undefined ? 'selector is required' : 'selector must be an object') },
  ),
  logprobs: z.int({ error: logprobsMessage }).min(1, logprobsMessage).max(maxSampleLogprobs, logprobsMessage).nullish(),
  request_id: requestIdField,
});

export type SampleRequestBody = z.infer<typeof sampleRequestSchema>;
