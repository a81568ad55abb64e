// Who may start a generation: the concurrency cap (429), sleep mode and shutdown (503). It also
// knows every request in flight, so /sleep can refuse (409) and shutdown can wait, then cancel.
import { ApiError } from './errors.ts';

export interface Ticket {
  /** Aborted when the server gives up on the request (shutdown deadline). */
  readonly signal: AbortSignal;
  /** Idempotent: the request is over. */
  leave(): void;
}

export class Admission {
  private readonly inFlight = new Set<AbortController>();
  private idleWaiters: Array<() => void> = [];
  sleeping = false;
  draining = false;

  /** @param limit requests in flight at most; 0 = unlimited. */
  constructor(private readonly limit: number) {}

  get count(): number {
    return this.inFlight.size;
  }

  enter(): Ticket {
    if (this.draining) throw new ApiError(503, 'UNAVAILABLE', 'Server is shutting down.');
    if (this.sleeping) throw new ApiError(503, 'UNAVAILABLE', 'Model is currently in sleep state.');
    if (this.limit > 0 && this.inFlight.size >= this.limit) {
      throw new ApiError(429, 'RESOURCE_EXHAUSTED', 'The number of concurrent requests has reached the limit.');
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    return {
      signal: controller.signal,
      leave: () => {
        if (!this.inFlight.delete(controller) || this.inFlight.size > 0) return;
        for (const wake of this.idleWaiters.splice(0)) wake();
      },
    };
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  cancelAll(reason: string): void {
    for (const controller of this.inFlight) controller.abort(new Error(reason));
  }
}
