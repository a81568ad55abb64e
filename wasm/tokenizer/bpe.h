// Byte-pair encoding of one pre-token, lowest rank first, leftmost among equals.
#ifndef XL_BPE_H
#define XL_BPE_H
#include <stddef.h>
#include <stdint.h>
#include "merges.h"
#include "vocab.h"

typedef struct { int32_t id, prev, next; } xl_bpe_symbol;
typedef struct { int32_t rank, pos; } xl_bpe_candidate;

// Scratch space reused across words (owned).
typedef struct {
  xl_bpe_symbol *symbols;
  xl_bpe_candidate *heap;
  size_t capacity;
} xl_bpe_scratch;

void xl_bpe_scratch_free(xl_bpe_scratch *scratch);

// Writes the ids of word (len >= 1) to out (room for len ids); returns how many, or an error.
int32_t xl_bpe_word(const xl_vocab *vocab, const xl_merges *merges, xl_bpe_scratch *scratch,
                    const uint8_t *word, size_t len, int32_t *out);

#endif
