// UTF-8 decoding and character classes for the split patterns.
#ifndef XL_UNICODE_H
#define XL_UNICODE_H
#include <stddef.h>
#include <stdint.h>
#include "unicode_tables.h"

// A byte that does not start a valid sequence decodes as this (class 0, like an unassigned char).
#define XL_INVALID_CP 0x110000u

// Decodes the character at s[pos] (pos < len); *width gets its length in bytes (>= 1).
static inline uint32_t xl_decode(const uint8_t *s, size_t len, size_t pos, size_t *width) {
  uint8_t b = s[pos];
  if (b < 0x80) { *width = 1; return b; }
  size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
  if (n == 0 || (n == 4 && b > 0xf4) || pos + n > len) { *width = 1; return XL_INVALID_CP; }
  uint32_t cp = b & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    uint8_t c = s[pos + i];
    if ((c & 0xc0) != 0x80) { *width = 1; return XL_INVALID_CP; }
    cp = cp << 6 | (c & 0x3f);
  }
  static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) { *width = 1; return XL_INVALID_CP; }
  *width = n;
  return cp;
}

static inline uint8_t xl_class(uint32_t cp) {
  if (cp >= 0x110000u) return 0;
  return xl_class_stage2[(size_t)xl_class_stage1[cp >> 8] * 256 + (cp & 0xff)];
}

#endif
