// The BPE model's vocabulary: token bytes (byte-level decoded) to id.
#ifndef XL_VOCAB_H
#define XL_VOCAB_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *bytes;      // all tokens' bytes, back to back (owned)
  int32_t *offsets;    // token id i: bytes[offsets[i] .. offsets[i + 1]) (owned); empty = no such id
  int32_t count;       // number of ids
  int32_t *slots;      // open addressing: id + 1, 0 = empty (owned)
  size_t mask;
  int32_t byte_ids[256];  // the token of each single byte, -1 when missing
} xl_vocab;

// Copies the packed tokens in; returns 0, or a negative error code (out of memory, duplicate token).
int xl_vocab_init(xl_vocab *v, const uint8_t *bytes, const int32_t *offsets, int32_t count);
void xl_vocab_free(xl_vocab *v);
int32_t xl_vocab_find(const xl_vocab *v, const uint8_t *s, size_t len);  // id or -1

#endif
