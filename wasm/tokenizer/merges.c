#include "merges.h"
#include <stdlib.h>
#include "errors.h"
#include "hash.h"

int xl_merges_init(xl_merges *m, const int32_t *triples, int32_t count) {
  m->mask = xl_pow2_at_least((size_t)count * 2) - 1;
  m->slots = calloc(m->mask + 1, sizeof(xl_merge_slot));
  if (!m->slots) return XL_ERR_NO_MEMORY;
  for (int32_t r = 0; r < count; r++) {
    const int32_t *t = triples + 3 * (size_t)r;
    uint64_t key = xl_merge_key(t[0], t[1]);
    size_t i = xl_mix(key) & m->mask;
    while (m->slots[i].key && m->slots[i].key != key) i = (i + 1) & m->mask;
    m->slots[i] = (xl_merge_slot){key, r, t[2]};
  }
  return 0;
}

void xl_merges_free(xl_merges *m) { free(m->slots); }

const xl_merge_slot *xl_merges_find(const xl_merges *m, int32_t left, int32_t right) {
  uint64_t key = xl_merge_key(left, right);
  for (size_t i = xl_mix(key) & m->mask; m->slots[i].key; i = (i + 1) & m->mask)
    if (m->slots[i].key == key) return &m->slots[i];
  return NULL;
}
