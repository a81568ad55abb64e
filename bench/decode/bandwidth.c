// Memory read bandwidth, the ceiling a memory-bound decode step works against: THREADS threads
// each sum their half of a 1 GiB buffer (far beyond any cache), best of 5 passes. Prints GB/s.
// Built and run by bandwidth.ts; a measuring instrument, not part of the engine.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES ((size_t)1 << 30)

static uint64_t *buffer;
static int threads;

static void *sum_part(void *arg) {
  size_t part = (size_t)(intptr_t)arg, words = BYTES / 8 / (size_t)threads;
  const uint64_t *p = buffer + part * words;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i < words; i += 4) a += p[i], b += p[i + 1], c += p[i + 2], d += p[i + 3];
  return (void *)(intptr_t)(a ^ b ^ c ^ d);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 64) return 2;
  buffer = aligned_alloc(4096, BYTES);
  if (!buffer) return 1;
  memset(buffer, 1, BYTES);
  double best = 1e9;
  uintptr_t sink = 0;
  for (int pass = 0; pass < 5; pass++) {
    pthread_t ids[64];
    double start = now();
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, sum_part, (void *)(intptr_t)t);
    for (int t = 0; t < threads; t++) {
      void *r;
      pthread_join(ids[t], &r);
      sink ^= (uintptr_t)r;
    }
    double seconds = now() - start;
    if (seconds < best) best = seconds;
  }
  printf("%.2f %lu\n", (double)BYTES / best / 1e9, (unsigned long)(sink & 1));
  return 0;
}
