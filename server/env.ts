// The typed context every handler sees (`c.var`): no module globals.
import type { InferenceEngine } from '../src/index.ts';
import type { Admission } from './admission.ts';
import type { ServerConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export interface AppVariables {
  engine: InferenceEngine;
  config: ServerConfig;
  metrics: Metrics;
  logger: Logger;
  admission: Admission;
  /** Names the served model answers to; the first is its id. */
  modelNames: readonly string[];
  /** Sent back as `x-request-id`; a body's `request_id` replaces the generated one. */
  requestId: string;
  /** Unique per request, whatever the client chose: the engine's request id. */
  internalId: string;
}

export type AppEnv = { Variables: AppVariables };
