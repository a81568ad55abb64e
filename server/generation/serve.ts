// The one generation path of /v1/chat/completions and /v1/completions, after their own parsing:
// admit → prepare the prompts (tokenize; vlm: fetch and preprocess images) → engine.generate →
// stream or collect with the endpoint's format. Admission comes before the preparation so that
// a request refused at the cap, asleep or during shutdown costs no image work.
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import type { ResponseFormat } from '../format/format.ts';
import { openSse, type SseProtocol } from '../sse.ts';
import { chunks, collect, type OpenAiResponse, type ResponseMeta } from './respond.ts';
import { runGeneration, type GenerationPlan } from './run.ts';

/** How long an idle stream waits before a `: ping` comment keeps proxies from closing it. */
const SSE_PING_MS = 15_000;

export interface GenerationCall {
  plan: GenerationPlan;
  format: ResponseFormat;
  meta: ResponseMeta;
  stream: boolean;
  includeUsage: boolean;
  /** Another API's shape around the answer (OpenAI's when absent). */
  wire?: ResponseWire;
}

/** How another API (Anthropic's /v1/messages) wraps the OpenAI-shaped answer the format builds. */
export interface ResponseWire {
  /** The complete response, from the OpenAI-shaped body. */
  body(openai: OpenAiResponse): object;
  /** The stream's events, from the OpenAI-shaped chunks (the last one carrying usage). */
  events(chunks: AsyncIterable<object>): AsyncIterable<object>;
  /** How its events are written, the stream ends and a late error is reported. */
  sse: SseProtocol;
}

export async function serveGeneration(c: Context<AppEnv>, prepare: () => GenerationCall | Promise<GenerationCall>): Promise<Response> {
  const ticket = c.var.admission.enter();
  let call: GenerationCall;
  try {
    call = await prepare();
  } catch (error) {
    ticket.leave();
    throw error;
  }
  const cancel = new AbortController();
  // The engine stops on a client hang-up, a shutdown past its deadline, or a cancelled stream.
  const signal = AbortSignal.any([c.req.raw.signal, ticket.signal, cancel.signal]);
  const events = stopsOnShutdown(runGeneration(c.var.engine, call.plan, signal), ticket.signal);
  const wire = call.wire;
  if (!call.stream) {
    try {
      const body = await collect(events, call.format, call.meta);
      return c.json(wire ? wire.body(body) : body);
    } finally {
      ticket.leave();
    }
  }
  const openAiChunks = chunks(events, call.format, call.meta, call.includeUsage || wire !== undefined);
  let source: AsyncIterator<object>;
  try {
    // A wire opens its stream with events of its own (message_start, response.created): the
    // engine's first chunk comes first, so that an error at admission is still a plain JSON
    // error with its status rather than an event inside a 200 stream.
    source = (wire ? wire.events(await primed(openAiChunks)) : openAiChunks)[Symbol.asyncIterator]();
  } catch (error) {
    ticket.leave();
    throw error;
  }
  // The access log adds `x-request-id` to this response as to every other.
  return openSse(source, {
    protocol: wire?.sse,
    pingMs: SSE_PING_MS,
    onCancel: () => cancel.abort(new Error('client closed the stream')),
    onClose: ({ outcome, error }) => {
      ticket.leave();
      if (outcome === 'error') c.var.logger.warn('stream_error', { request_id: c.var.requestId, error: errorName(error) });
    },
  });
}

/** `source` with its first item already produced (its error, if any, thrown here). */
async function primed<T>(source: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const rest: AsyncIterable<T> = { [Symbol.asyncIterator]: () => iterator };
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* rest; // forwards a cancel (return) to the source
  })();
}

/** A request cut off by shutdown ends with UNAVAILABLE, however the engine reported the cancel. */
async function* stopsOnShutdown<T>(events: AsyncIterable<T>, shutdown: AbortSignal): AsyncGenerator<T> {
  const cutOff = () => new ApiError(503, 'UNAVAILABLE', 'The server is shutting down; the request was cancelled.');
  try {
    yield* events;
  } catch (error) {
    throw shutdown.aborted ? cutOff() : error;
  }
  if (shutdown.aborted) throw cutOff();
}

function errorName(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : 'unknown';
}
