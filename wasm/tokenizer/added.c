#include "added.h"
#include <stdlib.h>
#include <string.h>
#include "errors.h"
#include "unicode.h"

static const xl_added *sorting;  // qsort has no context argument

static int longest_first(const void *x, const void *y) {
  int32_t i = *(const int32_t *)x, j = *(const int32_t *)y;
  const int32_t *o = sorting->offsets;
  int first_i = sorting->bytes[o[i]], first_j = sorting->bytes[o[j]];
  if (first_i != first_j) return first_i - first_j;
  int32_t li = o[i + 1] - o[i], lj = o[j + 1] - o[j];
  return li != lj ? lj - li : i - j;
}

int xl_added_init(xl_added *a, const uint8_t *bytes, const int32_t *offsets, const int32_t *ids,
                  const int32_t *flags, int32_t count) {
  size_t n = (size_t)count, total = (size_t)offsets[count];
  a->count = count;
  a->bytes = malloc(total ? total : 1);
  a->offsets = malloc((n + 1) * sizeof(int32_t));
  a->ids = malloc((n ? n : 1) * sizeof(int32_t));
  a->flags = malloc((n ? n : 1) * sizeof(int32_t));
  a->by_first = malloc((n ? n : 1) * sizeof(int32_t));
  if (!a->bytes || !a->offsets || !a->ids || !a->flags || !a->by_first) return XL_ERR_NO_MEMORY;
  memcpy(a->bytes, bytes, total);
  memcpy(a->offsets, offsets, (n + 1) * sizeof(int32_t));
  memcpy(a->ids, ids, n * sizeof(int32_t));
  memcpy(a->flags, flags, n * sizeof(int32_t));
  for (int32_t i = 0; i < count; i++) {
    if (offsets[i + 1] <= offsets[i]) return XL_ERR_BAD_ARGUMENT;  // empty content never matches in HF either
    a->by_first[i] = i;
  }
  sorting = a;
  qsort(a->by_first, n, sizeof(int32_t), longest_first);
  sorting = NULL;
  int32_t k = 0;
  for (int b = 0; b <= 256; b++) {
    while (k < count && b < 256 && a->bytes[offsets[a->by_first[k]]] < b) k++;
    a->first_at[b] = b < 256 ? k : count;
  }
  return 0;
}

void xl_added_free(xl_added *a) {
  free(a->bytes);
  free(a->offsets);
  free(a->ids);
  free(a->flags);
  free(a->by_first);
}

// Longest token (of the wanted kind) at s[pos], or -1.
static int32_t longest_at(const xl_added *a, int normalized, const uint8_t *s, size_t len, size_t pos) {
  for (int32_t k = a->first_at[s[pos]]; k < a->first_at[s[pos] + 1]; k++) {
    int32_t i = a->by_first[k];
    if (((a->flags[i] & XL_ADDED_NORMALIZED) != 0) != normalized) continue;
    size_t n = (size_t)(a->offsets[i + 1] - a->offsets[i]);
    if (n <= len - pos && memcmp(s + pos, a->bytes + a->offsets[i], n) == 0) return i;
  }
  return -1;
}

static int is_alnum_before(const uint8_t *s, size_t pos) {
  if (pos == 0) return 0;
  size_t start = pos - 1, w;
  while (start > 0 && pos - start < 4 && (s[start] & 0xc0) == 0x80) start--;
  uint32_t cp = xl_decode(s, pos, start, &w);
  return start + w == pos && (xl_class(cp) & XL_ALNUM) != 0;
}

static int is_alnum_at(const uint8_t *s, size_t len, size_t pos) {
  size_t w;
  return pos < len && (xl_class(xl_decode(s, len, pos, &w)) & XL_ALNUM) != 0;
}

int xl_added_next(const xl_added *a, int normalized, const uint8_t *s, size_t len, size_t from, size_t floor,
                  xl_added_match *m) {
  for (size_t pos = from; pos < len; pos++) {
    if (a->first_at[s[pos]] == a->first_at[s[pos] + 1]) continue;
    int32_t i = longest_at(a, normalized, s, len, pos);
    if (i < 0) continue;
    size_t start = pos, end = pos + (size_t)(a->offsets[i + 1] - a->offsets[i]);
    int32_t flags = a->flags[i];
    if ((flags & XL_ADDED_SINGLE_WORD) && (is_alnum_before(s, start) || is_alnum_at(s, len, end))) {
      pos = end - 1;  // like the automaton, the rejected match's bytes are not searched again
      continue;
    }
    size_t w;
    if (flags & XL_ADDED_LSTRIP) {
      size_t p = start;
      while (p > 0) {
        size_t q = p - 1;
        while (q > 0 && (s[q] & 0xc0) == 0x80) q--;
        if (!(xl_class(xl_decode(s, p, q, &w)) & XL_SPACE)) break;
        p = q;
      }
      start = p > floor ? p : floor;
    }
    if (flags & XL_ADDED_RSTRIP)
      while (end < len && (xl_class(xl_decode(s, len, end, &w)) & XL_SPACE)) end += w;
    *m = (xl_added_match){start, end, a->ids[i]};
    return 1;
  }
  return 0;
}
