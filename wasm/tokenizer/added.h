// Added tokens (special or not), matched in the text before pre-tokenization, leftmost-longest,
// with Hugging Face's single_word, lstrip and rstrip rules.
#ifndef XL_ADDED_H
#define XL_ADDED_H
#include <stddef.h>
#include <stdint.h>

enum { XL_ADDED_LSTRIP = 1, XL_ADDED_RSTRIP = 2, XL_ADDED_SINGLE_WORD = 4, XL_ADDED_NORMALIZED = 8 };

typedef struct {
  uint8_t *bytes;     // contents back to back (owned)
  int32_t *offsets;   // token i: bytes[offsets[i] .. offsets[i + 1]) (owned)
  int32_t *ids;       // (owned)
  int32_t *flags;     // XL_ADDED_* (owned)
  int32_t *by_first;  // token indices grouped by first byte, longest first (owned)
  int32_t first_at[257];
  int32_t count;
} xl_added;

int xl_added_init(xl_added *a, const uint8_t *bytes, const int32_t *offsets, const int32_t *ids,
                  const int32_t *flags, int32_t count);
void xl_added_free(xl_added *a);

typedef struct { size_t start, end; int32_t id; } xl_added_match;

// The next match in s[from..len) among tokens whose XL_ADDED_NORMALIZED flag equals normalized,
// with strips applied (never before `floor`); returns 0 when there is none.
int xl_added_next(const xl_added *a, int normalized, const uint8_t *s, size_t len, size_t from, size_t floor,
                  xl_added_match *m);

#endif
