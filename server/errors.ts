// One error type for the whole HTTP layer, and the one place that turns any thrown value into
// the OpenAI-shaped body of docs/API.md ("Errors"). xLLM's status name stays in `code`.
import { ZodError } from 'zod';
import { EngineError, SamplingParamError, type EngineErrorCode } from '../src/index.ts';

export type ApiErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FAILED_PRECONDITION'
  | 'CANCELLED'
  | 'INTERNAL';

export type ApiErrorStatus = 400 | 401 | 404 | 409 | 413 | 429 | 499 | 500 | 503;

export class ApiError extends Error {
  constructor(
    readonly status: ApiErrorStatus,
    readonly code: ApiErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: ApiErrorCode };
}

const typeOfStatus: Record<ApiErrorStatus, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  499: 'cancelled_error',
  500: 'internal_error',
  503: 'service_unavailable_error',
};

const statusOfEngineCode: Record<EngineErrorCode, ApiErrorStatus> = {
  INVALID_ARGUMENT: 400,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  FAILED_PRECONDITION: 409,
  CANCELLED: 499,
  INTERNAL: 500,
};

/** The `param` of a zod issue path, written as a client would address it: `messages[0].content`. */
export function paramOfPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

export function fromZodError(error: ZodError): ApiError {
  const issue = error.issues[0];
  if (!issue) return new ApiError(400, 'INVALID_ARGUMENT', 'Invalid request body');
  if (issue.code === 'unrecognized_keys') {
    const param = paramOfPath([...issue.path, issue.keys[0]!]);
    return new ApiError(400, 'INVALID_ARGUMENT', `${param} is not a field this server implements; it is refused rather than ignored`, param);
  }
  const param = paramOfPath(issue.path);
  // Our schemas write messages that already name the field; zod's generic ones do not.
  const message = param && !issue.message.startsWith(param) ? `${param}: ${issue.message}` : issue.message;
  return new ApiError(400, 'INVALID_ARGUMENT', message, param || undefined);
}

/** The same error about a field another API names differently (its param and its message). */
export function renameParam(error: ApiError, rename: (param: string) => string): ApiError {
  if (!error.param) return error;
  const param = rename(error.param);
  return param === error.param ? error : new ApiError(error.status, error.code, error.message.split(error.param).join(param), param);
}

/** Anything thrown → an ApiError whose message is safe to send (no stack, no prompt text). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) return fromZodError(error);
  if (error instanceof SamplingParamError) return new ApiError(400, 'INVALID_ARGUMENT', error.message, error.param);
  if (error instanceof EngineError) {
    const status = statusOfEngineCode[error.code];
    // An engine INTERNAL message may carry details of the failing request; keep it out.
    const message = status === 500 ? 'Internal server error' : error.message;
    return new ApiError(status, error.code, message, error.param);
  }
  return new ApiError(500, 'INTERNAL', 'Internal server error');
}

export function errorBody(error: ApiError): ErrorBody {
  return {
    error: { message: error.message, type: typeOfStatus[error.status], param: error.param ?? null, code: error.code },
  };
}
