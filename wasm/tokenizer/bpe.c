#include "bpe.h"
#include <stdlib.h>
#include "errors.h"

void xl_bpe_scratch_free(xl_bpe_scratch *scratch) {
  free(scratch->symbols);
  free(scratch->heap);
}

static int reserve(xl_bpe_scratch *sc, size_t len) {
  if (len <= sc->capacity) return 0;
  size_t cap = sc->capacity ? sc->capacity : 64;
  while (cap < len) cap *= 2;
  xl_bpe_symbol *symbols = realloc(sc->symbols, cap * sizeof *symbols);
  if (!symbols) return XL_ERR_NO_MEMORY;
  sc->symbols = symbols;
  xl_bpe_candidate *heap = realloc(sc->heap, cap * 3 * sizeof *heap);
  if (!heap) return XL_ERR_NO_MEMORY;
  sc->heap = heap;
  sc->capacity = cap;
  return 0;
}

static int before(xl_bpe_candidate a, xl_bpe_candidate b) {
  return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(xl_bpe_candidate *heap, size_t *n, xl_bpe_candidate c) {
  size_t i = (*n)++;
  while (i > 0 && before(c, heap[(i - 1) / 2])) {
    heap[i] = heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  heap[i] = c;
}

static xl_bpe_candidate heap_pop(xl_bpe_candidate *heap, size_t *n) {
  xl_bpe_candidate top = heap[0], last = heap[--*n];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= *n) break;
    if (child + 1 < *n && before(heap[child + 1], heap[child])) child++;
    if (!before(heap[child], last)) break;
    heap[i] = heap[child];
    i = child;
  }
  if (*n) heap[i] = last;
  return top;
}

static void push_pair(const xl_merges *merges, xl_bpe_scratch *sc, size_t *n, int32_t pos) {
  const xl_bpe_symbol *s = sc->symbols;
  if (pos < 0 || s[pos].next < 0) return;
  const xl_merge_slot *rule = xl_merges_find(merges, s[pos].id, s[s[pos].next].id);
  if (rule) heap_push(sc->heap, n, (xl_bpe_candidate){rule->rank, pos});
}

int32_t xl_bpe_word(const xl_vocab *vocab, const xl_merges *merges, xl_bpe_scratch *sc,
                    const uint8_t *word, size_t len, int32_t *out) {
  if (reserve(sc, len)) return XL_ERR_NO_MEMORY;
  xl_bpe_symbol *s = sc->symbols;
  for (size_t i = 0; i < len; i++) {
    int32_t id = vocab->byte_ids[word[i]];
    if (id < 0) return XL_ERR_MISSING_BYTE_TOKEN;
    s[i] = (xl_bpe_symbol){id, (int32_t)i - 1, i + 1 < len ? (int32_t)i + 1 : -1};
  }
  size_t n = 0;
  for (size_t i = 0; i + 1 < len; i++) push_pair(merges, sc, &n, (int32_t)i);
  while (n) {
    xl_bpe_candidate c = heap_pop(sc->heap, &n);
    xl_bpe_symbol *left = &s[c.pos];
    if (left->id < 0 || left->next < 0) continue;
    const xl_merge_slot *rule = xl_merges_find(merges, left->id, s[left->next].id);
    if (!rule || rule->rank != c.rank) continue;  // stale: a neighbour merged first
    int32_t gone = left->next;
    left->id = rule->merged;
    left->next = s[gone].next;
    if (left->next >= 0) s[left->next].prev = c.pos;
    s[gone].id = -1;
    push_pair(merges, sc, &n, left->prev);
    push_pair(merges, sc, &n, c.pos);
  }
  int32_t count = 0;
  for (int32_t i = 0; i >= 0; i = s[i].next) out[count++] = s[i].id;
  return count;
}
