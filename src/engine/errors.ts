// Errors the engine raises for a request. The server maps `code` to an HTTP status; the
// names are xLLM's status names (docs/API.md "Errors").
export type EngineErrorCode =
  | 'INVALID_ARGUMENT'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  /** The engine is busy in a way that forbids the call (sleep with requests in flight). */
  | 'FAILED_PRECONDITION'
  | 'CANCELLED'
  | 'INTERNAL';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** The request field at fault, when there is one. */
    readonly param?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
