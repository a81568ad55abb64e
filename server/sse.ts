// Server-sent events over a pull-based stream: the next chunk is produced only when the socket
// has taken the previous one, so a slow client slows its own generation instead of buffering.
import { errorBody, toApiError, type ApiError } from './errors.ts';

export interface SseOptions {
  /** Send `: ping` after this long without a chunk, so proxies keep an idle stream open. */
  pingMs: number;
  /** Called once when the client goes away before the end; cancels the generation. */
  onCancel(): void;
  /** Called once when the stream is over, however it ended. */
  onClose?(outcome: { bytes: number; outcome: 'done' | 'error' | 'cancelled'; error?: unknown }): void;
  /** How events are written (default: OpenAI's `data:` events, `data: [DONE]`, an error object). */
  protocol?: SseProtocol;
}

export interface SseProtocol {
  event(chunk: unknown): Uint8Array;
  /** Written after the last chunk, if anything. */
  done: Uint8Array | null;
  /** The event that reports an error after the stream began. */
  error(error: ApiError): Uint8Array;
}

const encoder = new TextEncoder();
const doneEvent = encoder.encode('data: [DONE]\n\n');
const pingEvent = encoder.encode(': ping\n\n');

export function dataEvent(chunk: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`);
}

/** A named event (`event:` line), as Anthropic's streams send them. */
export function namedEvent(name: string, chunk: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(chunk)}\n\n`);
}

const OPENAI: SseProtocol = { event: dataEvent, done: doneEvent, error: (error) => dataEvent(errorBody(error)) };

/** Streams of typed events (Anthropic's, OpenAI Responses'): each named by its `type`, no end marker. */
export function typedEventProtocol(errorEvent: (error: ApiError) => object): SseProtocol {
  return {
    event: (chunk) => namedEvent((chunk as { type: string }).type, chunk),
    done: null,
    error: (error) => namedEvent('error', errorEvent(error)),
  };
}

/**
 * Waits for the first chunk, so an error before it throws and becomes a plain JSON error with
 * its real status; then returns the `text/event-stream` response. A later error is sent as
 * one `data: {"error":…}` event and the stream ends without `[DONE]`.
 */
export async function openSse(chunks: AsyncIterator<unknown>, options: SseOptions): Promise<Response> {
  const protocol = options.protocol ?? OPENAI;
  let first: IteratorResult<unknown>;
  try {
    first = await chunks.next();
  } catch (error) {
    options.onClose?.({ bytes: 0, outcome: 'error', error });
    throw error;
  }
  let bytes = 0;
  let closed = false;
  let pending: Promise<IteratorResult<unknown>> | undefined = Promise.resolve(first);
  const finish = (outcome: 'done' | 'error' | 'cancelled', error?: unknown) => {
    if (closed) return;
    closed = true;
    options.onClose?.({ bytes, outcome, error });
  };
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, data: Uint8Array) => {
    bytes += data.byteLength;
    controller.enqueue(data);
  };

  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        pending ??= chunks.next();
        let timer: NodeJS.Timeout | undefined;
        const ping = new Promise<'ping'>((resolve) => {
          timer = setTimeout(() => resolve('ping'), options.pingMs);
        });
        try {
          const result = await Promise.race([pending, ping]);
          if (result === 'ping') return send(controller, pingEvent);
          pending = undefined;
          if (result.done) {
            if (protocol.done) send(controller, protocol.done);
            controller.close();
            return finish('done');
          }
          send(controller, protocol.event(result.value));
        } catch (error) {
          if (closed) return;
          send(controller, protocol.error(toApiError(error)));
          controller.close();
          finish('error', error);
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel() {
        if (closed) return;
        finish('cancelled');
        options.onCancel();
        // Let the generator run its cleanup; it sees the abort and stops at its next step.
        await chunks.return?.().catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' },
  });
}
