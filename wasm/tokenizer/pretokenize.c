#include "pretokenize.h"
#include "unicode.h"

#define OTHER_MASK (XL_LETTER | XL_NUMBER | XL_SPACE)

static uint8_t class_at(const uint8_t *s, size_t len, size_t pos, size_t *width) {
  return xl_class(xl_decode(s, len, pos, width));
}

// Length after the apostrophe of 's 't 're 've 'm 'll 'd at s[pos], or 0.
// Case-insensitive like Oniguruma's (?i:…), where U+017F (long s) folds to 's'.
static size_t contraction(const uint8_t *s, size_t len, size_t pos, int fold_case) {
  if (pos >= len) return 0;
  uint8_t a = s[pos], b = pos + 1 < len ? s[pos + 1] : 0;
  if (fold_case) {
    if (a == 0xc5 && b == 0xbf) return 2;
    a |= a >= 'A' && a <= 'Z' ? 0x20 : 0;
    b |= b >= 'A' && b <= 'Z' ? 0x20 : 0;
  }
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 1;
  if ((a == 'r' || a == 'v') && b == 'e') return 2;
  if (a == 'l' && b == 'l') return 2;
  return 0;
}

static size_t scan_class(const uint8_t *s, size_t len, size_t pos, uint8_t want, size_t max_chars) {
  size_t w, n = 0;
  while (pos < len && n < max_chars && (class_at(s, len, pos, &w) & want)) { pos += w; n++; }
  return pos;
}

static size_t scan_other(const uint8_t *s, size_t len, size_t pos) {
  size_t w;
  while (pos < len && !(class_at(s, len, pos, &w) & OTHER_MASK)) pos += w;
  return pos;
}

// \s+(?!\S) then \s+ over the whitespace run starting at pos; the run ends at run_end and its
// last character starts at last_start.
static size_t whitespace_tail(size_t pos, size_t len, size_t run_end, size_t last_start) {
  if (run_end == len || last_start == pos) return run_end;
  return last_start;
}

static size_t split_gpt2(const uint8_t *s, size_t len, size_t pos) {
  size_t w, w2;
  if (s[pos] == '\'') {
    size_t n = contraction(s, len, pos + 1, 0);
    if (n) return pos + 1 + n;
  }
  uint8_t k = class_at(s, len, pos, &w);
  size_t start = pos;
  if (s[pos] == ' ' && pos + 1 < len) {
    uint8_t next = class_at(s, len, pos + 1, &w2);
    if (!(next & XL_SPACE)) { start = pos + 1; k = next; w = w2; }
  }
  if (k & XL_LETTER) return scan_class(s, len, start, XL_LETTER, SIZE_MAX);
  if (k & XL_NUMBER) return scan_class(s, len, start, XL_NUMBER, SIZE_MAX);
  if (!(k & XL_SPACE)) return scan_other(s, len, start);
  size_t end = pos, last = pos;
  while (end < len && (class_at(s, len, end, &w) & XL_SPACE)) { last = end; end += w; }
  return whitespace_tail(pos, len, end, last);
}

static size_t split_modern(const uint8_t *s, size_t len, size_t pos, size_t max_digits) {
  size_t w, w2;
  uint8_t c = s[pos];
  if (c == '\'') {
    size_t n = contraction(s, len, pos + 1, 1);
    if (n) return pos + 1 + n;
  }
  uint8_t k = class_at(s, len, pos, &w);
  if (k & XL_LETTER) return scan_class(s, len, pos + w, XL_LETTER, SIZE_MAX);
  if (c != '\r' && c != '\n' && !(k & XL_NUMBER) && pos + w < len &&
      (class_at(s, len, pos + w, &w2) & XL_LETTER))
    return scan_class(s, len, pos + w, XL_LETTER, SIZE_MAX);
  if (k & XL_NUMBER) return scan_class(s, len, pos, XL_NUMBER, max_digits);
  size_t start = pos;
  if (c == ' ' && pos + 1 < len && !(class_at(s, len, pos + 1, &w2) & OTHER_MASK)) start = pos + 1;
  if (start != pos || !(k & OTHER_MASK)) {
    size_t end = scan_other(s, len, start);
    while (end < len && (s[end] == '\r' || s[end] == '\n')) end++;
    return end;
  }
  size_t end = pos, last = pos, after_newline = 0;
  while (end < len && (class_at(s, len, end, &w) & XL_SPACE)) {
    last = end;
    end += w;
    if (s[last] == '\r' || s[last] == '\n') after_newline = end;
  }
  if (after_newline) return after_newline;
  return whitespace_tail(pos, len, end, last);
}

size_t xl_split_next(xl_split_pattern pattern, const uint8_t *s, size_t len, size_t pos) {
  switch (pattern) {
    case XL_SPLIT_GPT2: return split_gpt2(s, len, pos);
    case XL_SPLIT_QWEN2: return split_modern(s, len, pos, 1);
    case XL_SPLIT_LLAMA3: return split_modern(s, len, pos, 3);
    default: return len;
  }
}
