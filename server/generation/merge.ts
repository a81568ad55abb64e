// Interleaves several async iterators as their items arrive. A source is asked for its next item
// only after its previous one was taken, so backpressure reaches every source.
export async function* mergeAsync<T>(sources: ReadonlyArray<AsyncIterable<T>>): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number) =>
    pending.set(index, iterators[index]!.next().then((result) => ({ index, result })));
  iterators.forEach((_, index) => pull(index));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      pending.delete(index);
      if (result.done) continue;
      yield result.value;
      pull(index);
    }
  } finally {
    // Stop the sources still running (the consumer left, or one of them failed).
    for (const index of pending.keys()) void iterators[index]!.return?.()?.catch(() => undefined);
  }
}
