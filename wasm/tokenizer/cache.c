#include "cache.h"
#include <stdlib.h>
#include <string.h>
#include "errors.h"

#define SLOTS (1u << 16)

int xl_cache_init(xl_cache *c) {
  c->mask = SLOTS - 1;
  c->used = 0;
  c->keys_cap = SLOTS / 2 * 16;
  c->ids_cap = SLOTS / 2 * 4;
  c->keys_used = c->ids_used = 0;
  c->entries = calloc(SLOTS, sizeof *c->entries);
  c->keys = malloc(c->keys_cap);
  c->ids = malloc(c->ids_cap * sizeof *c->ids);
  return c->entries && c->keys && c->ids ? 0 : XL_ERR_NO_MEMORY;
}

void xl_cache_free(xl_cache *c) {
  free(c->entries);
  free(c->keys);
  free(c->ids);
}

const int32_t *xl_cache_get(const xl_cache *c, const uint8_t *word, size_t len, uint64_t hash, int32_t *count) {
  hash |= 1;
  for (size_t i = hash & c->mask; c->entries[i].hash; i = (i + 1) & c->mask) {
    const xl_cache_entry *e = &c->entries[i];
    if (e->hash == hash && e->key_len == len && memcmp(c->keys + e->key_at, word, len) == 0) {
      *count = e->id_count;
      return c->ids + e->ids_at;
    }
  }
  return NULL;
}

void xl_cache_put(xl_cache *c, const uint8_t *word, size_t len, uint64_t hash, const int32_t *ids, int32_t count) {
  if (len > XL_CACHE_MAX_WORD || count > 255) return;
  if (c->used >= SLOTS / 2 || c->keys_used + len > c->keys_cap || c->ids_used + (size_t)count > c->ids_cap) {
    memset(c->entries, 0, SLOTS * sizeof *c->entries);
    c->used = c->keys_used = c->ids_used = 0;
  }
  hash |= 1;
  size_t i = hash & c->mask;
  while (c->entries[i].hash) i = (i + 1) & c->mask;
  memcpy(c->keys + c->keys_used, word, len);
  memcpy(c->ids + c->ids_used, ids, (size_t)count * sizeof *ids);
  c->entries[i] = (xl_cache_entry){hash, (int32_t)c->keys_used, (int32_t)c->ids_used, (uint8_t)len, (uint8_t)count};
  c->keys_used += len;
  c->ids_used += (size_t)count;
  c->used++;
}
