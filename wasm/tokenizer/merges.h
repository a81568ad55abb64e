// BPE merge rules: (left id, right id) to (rank, merged id).
#ifndef XL_MERGES_H
#define XL_MERGES_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t key;  // left << 32 | right, 0 = empty slot (pair ids are shifted by one)
  int32_t rank;
  int32_t merged;
} xl_merge_slot;

typedef struct {
  xl_merge_slot *slots;  // owned
  size_t mask;
} xl_merges;

// triples: left, right, merged ids per rule (all valid ids), in rank order. A repeated pair keeps its last rank,
// as in Hugging Face's map built from the list.
int xl_merges_init(xl_merges *m, const int32_t *triples, int32_t count);
void xl_merges_free(xl_merges *m);

static inline uint64_t xl_merge_key(int32_t left, int32_t right) {
  return (uint64_t)(uint32_t)(left + 1) << 32 | (uint32_t)(right + 1);
}

// The rule for a pair, or NULL.
const xl_merge_slot *xl_merges_find(const xl_merges *m, int32_t left, int32_t right);

#endif
