// Pre-token cache: the ids of recently seen pre-tokens, so frequent words skip BPE.
// When full it is cleared at once (cheap and good enough for natural text).
#ifndef XL_CACHE_H
#define XL_CACHE_H
#include <stddef.h>
#include <stdint.h>

#define XL_CACHE_MAX_WORD 64

typedef struct {
  uint64_t hash;     // 0 = empty
  int32_t key_at;    // into keys
  int32_t ids_at;    // into ids
  uint8_t key_len;
  uint8_t id_count;
} xl_cache_entry;

typedef struct {
  xl_cache_entry *entries;
  size_t mask, used;
  uint8_t *keys;
  size_t keys_used, keys_cap;
  int32_t *ids;
  size_t ids_used, ids_cap;
} xl_cache;

int xl_cache_init(xl_cache *c);
void xl_cache_free(xl_cache *c);
// The cached ids of word (count in *count), or NULL.
const int32_t *xl_cache_get(const xl_cache *c, const uint8_t *word, size_t len, uint64_t hash, int32_t *count);
void xl_cache_put(xl_cache *c, const uint8_t *word, size_t len, uint64_t hash, const int32_t *ids, int32_t count);

#endif
