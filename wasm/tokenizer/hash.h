// Small hashing helpers shared by the lookup tables.
#ifndef XL_HASH_H
#define XL_HASH_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t xl_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static inline uint64_t xl_hash_bytes(const uint8_t *s, size_t len) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
  while (len >= 8) {
    uint64_t v;
    memcpy(&v, s, 8);
    h = (h ^ v) * 0x100000001b3ull;
    h ^= h >> 29;
    s += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  memcpy(&tail, s, len);
  return xl_mix(h ^ tail);
}

static inline size_t xl_pow2_at_least(size_t n) {
  size_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

#endif
