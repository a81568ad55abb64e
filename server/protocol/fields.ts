// Field builders whose messages name the field, so a 400 reads "temperature must be between 0
// and 2" rather than zod's generic text. Optional fields accept null (Python clients send it).
import { z } from 'zod';

export function between(name: string, min: number, max: number) {
  const message = `${name} must be between ${min} and ${max}`;
  return z.number({ error: `${name} must be a number` }).min(min, message).max(max, message);
}

export function intBetween(name: string, min: number, max: number) {
  const message = `${name} must be an integer between ${min} and ${max}`;
  return z.int({ error: message }).min(min, message).max(max, message);
}

export function intAtLeast(name: string, min: number) {
  return z.int({ error: `${name} must be an integer` }).min(min, `${name} must be at least ${min}`);
}

export function bool(name: string) {
  return z.boolean({ error: `${name} must be a boolean` });
}

export function requiredString(name: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a string`) }).min(1, `${name} is required`);
}

export function tokenIds(name: string) {
  return z.array(intAtLeast(`${name} entries`, 0), { error: `${name} must be an array of token ids` });
}

/** A caller-chosen id for the response and its `x-request-id`. */
export const requestIdField = z.string({ error: 'request_id must be a string' }).min(1).max(256, 'request_id is longer than 256 characters').nullish();

/** xLLM's caller-chosen id: echoed like request_id (which wins when both are given). */
export const serviceRequestIdField = z
  .string({ error: 'service_request_id must be a string' })
  .min(1)
  .max(256, 'service_request_id is longer than 256 characters')
  .nullish();

/** `null` means "not given", like a missing field. */
export function orNull<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}
