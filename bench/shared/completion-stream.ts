// One streamed /v1/completions request timed as a client sees it: when it was sent, when each
// event carrying a token arrived, and the usage the last event reports.

export interface TimedStream {
  sentAt: number;
  /** performance.now() of each event that carries choices (one a token when no stop strings hold text back). */
  arrivals: number[];
  completionTokens: number;
}

export async function streamCompletion(url: string, body: Record<string, unknown>): Promise<TimedStream> {
  const sentAt = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok) throw new Error(`completion failed: ${res.status} ${await res.text()}`);
  const arrivals: number[] = [];
  let completionTokens = 0;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body!) {
    const events = (pending + decoder.decode(chunk, { stream: true })).split('\n\n');
    pending = events.pop()!;
    for (const event of events) {
      if (!event.startsWith('data: {')) continue;
      const data = JSON.parse(event.slice('data: '.length)) as { choices: unknown[]; usage?: { completion_tokens: number } };
      if (data.choices.length > 0) arrivals.push(performance.now());
      if (data.usage) completionTokens = data.usage.completion_tokens;
    }
  }
  return { sentAt, arrivals, completionTokens };
}
