// POST /v1/sample request schema, with the exact validation messages of docs/API.md "/v1/sample".
import { z } from 'zod';
import { MAX_SAMPLE_LOGPROBS } from '../../src/index.ts';
import { requestIdField, requiredString, serviceRequestIdField } from './fields.ts';

const logprobsMessage = `logprobs must be between 1 and ${MAX_SAMPLE_LOGPROBS}`;

export const sampleRequestSchema = z.strictObject({
  model: requiredString('model'),
  prompt: requiredString('prompt'),
  selector: z.strictObject(
    {
      type: z.literal('literal', { error: 'selector.type must be literal' }),
      value: requiredString('selector.value'),
    },
    { error: (issue) => (issue.input === undefined ? 'selector is required' : 'selector must be an object') },
  ),
  logprobs: z.int({ error: logprobsMessage }).min(1, logprobsMessage).max(MAX_SAMPLE_LOGPROBS, logprobsMessage).nullish(),
  request_id: requestIdField,
  service_request_id: serviceRequestIdField,
});

export type SampleRequestBody = z.infer<typeof sampleRequestSchema>;
