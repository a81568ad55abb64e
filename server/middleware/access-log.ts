// Per request: ids, the `x-request-id` header, one JSON log line and the request counter. A
// streamed body is counted when it ends, so the line carries its real size and duration.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';

const clientRequestId = /^[\w.:-]{1,128}$/;

export function accessLog(knownPaths: ReadonlySet<string>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const internalId = crypto.randomUUID().replaceAll('-', '');
    const given = c.req.header('x-request-id');
    c.set('internalId', internalId);
    c.set('requestId', given && clientRequestId.test(given) ? given : internalId);
    await next();
    c.res.headers.set('x-request-id', c.var.requestId);
    // Unknown paths share one label so scanners cannot blow up the metric's cardinality.
    const endpoint = knownPaths.has(c.req.path) ? c.req.path : 'other';
    const status = c.res.status;
    const record = (bytes: number, streamEnd?: string) => {
      c.var.metrics.countRequest(endpoint, status);
      c.var.logger.info('request', {
        request_id: c.var.requestId,
        method: c.req.method,
        endpoint,
        status,
        request_bytes: Number(c.req.header('content-length') ?? 0),
        response_bytes: bytes,
        duration_ms: Math.round(performance.now() - started),
        stream_end: streamEnd,
      });
    };
    const body = c.res.body;
    if (body && c.res.headers.get('content-type')?.startsWith('text/event-stream')) {
      c.res = new Response(observeBody(body, record), c.res);
    } else if (body) {
      // A JSON body is already complete: measure it and send it with its length.
      const bytes = new Uint8Array(await c.res.arrayBuffer());
      c.res = new Response(bytes, c.res);
      record(bytes.byteLength);
    } else {
      record(0);
    }
  };
}

/**
 * Passes a body through unchanged (pull by pull, keeping backpressure) and reports its end
 * once: a client that hangs up cancels the body, and the read pending at that moment may
 * fail as well, which is the same end.
 */
function observeBody(body: ReadableStream<Uint8Array>, report: (bytes: number, how: 'done' | 'cancelled' | 'error') => void) {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const onEnd = (at: number, how: 'done' | 'cancelled' | 'error') => {
    if (ended) return;
    ended = true;
    report(at, how);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return onEnd(bytes, 'done');
          }
          bytes += value.byteLength;
          controller.enqueue(value);
        } catch (error) {
          controller.error(error);
          onEnd(bytes, 'error');
        }
      },
      async cancel(reason) {
        onEnd(bytes, 'cancelled');
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
