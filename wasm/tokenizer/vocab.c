#include "vocab.h"
#include <stdlib.h>
#include "errors.h"
#include "hash.h"

static int holds(const xl_vocab *v, int32_t id, const uint8_t *s, size_t len) {
  size_t start = (size_t)v->offsets[id];
  return (size_t)v->offsets[id + 1] - start == len && memcmp(v->bytes + start, s, len) == 0;
}

int xl_vocab_init(xl_vocab *v, const uint8_t *bytes, const int32_t *offsets, int32_t count) {
  size_t total = (size_t)offsets[count];
  v->count = count;
  v->bytes = malloc(total ? total : 1);
  v->offsets = malloc(sizeof(int32_t) * ((size_t)count + 1));
  v->mask = xl_pow2_at_least((size_t)count * 2) - 1;
  v->slots = calloc(v->mask + 1, sizeof(int32_t));
  if (!v->bytes || !v->offsets || !v->slots) return XL_ERR_NO_MEMORY;
  memcpy(v->bytes, bytes, total);
  memcpy(v->offsets, offsets, sizeof(int32_t) * ((size_t)count + 1));
  for (int i = 0; i < 256; i++) v->byte_ids[i] = -1;
  for (int32_t id = 0; id < count; id++) {
    const uint8_t *s = v->bytes + offsets[id];
    size_t len = (size_t)(offsets[id + 1] - offsets[id]);
    if (len == 0) continue;
    size_t i = xl_hash_bytes(s, len) & v->mask;
    for (; v->slots[i]; i = (i + 1) & v->mask)
      if (holds(v, v->slots[i] - 1, s, len)) return XL_ERR_DUPLICATE_TOKEN;
    v->slots[i] = id + 1;
    if (len == 1) v->byte_ids[s[0]] = id;
  }
  return 0;
}

void xl_vocab_free(xl_vocab *v) {
  free(v->bytes);
  free(v->offsets);
  free(v->slots);
}

int32_t xl_vocab_find(const xl_vocab *v, const uint8_t *s, size_t len) {
  for (size_t i = xl_hash_bytes(s, len) & v->mask; v->slots[i]; i = (i + 1) & v->mask)
    if (holds(v, v->slots[i] - 1, s, len)) return v->slots[i] - 1;
  return -1;
}
