// A strict JSON reader (RFC 8259 grammar, as JSON.parse and serde_json accept it) over UTF-8 text,
// used to read tokenizer.json's big tables without building a document tree.
#ifndef XL_JSON_H
#define XL_JSON_H
#include <stddef.h>
#include <stdint.h>

enum {
  XL_JSON_OK = 0,
  XL_JSON_UNEXPECTED_END = 1,
  XL_JSON_UNEXPECTED_CHAR = 2,
  XL_JSON_BAD_STRING = 3,    // a control character or an invalid escape
  XL_JSON_BAD_NUMBER = 4,
  XL_JSON_TOO_DEEP = 5,      // nested deeper than XL_JSON_MAX_DEPTH
  XL_JSON_TRAILING = 6,      // text after the top-level value
  XL_JSON_DUPLICATE_KEY = 7, // a key this reader must see once appears twice
  XL_JSON_STOPPED = 8,       // the caller gave up (out of memory)
};

// serde_json's default recursion limit: deeper files are rejected by Hugging Face too.
#define XL_JSON_MAX_DEPTH 128

typedef struct {
  const uint8_t *s;
  size_t len, pos;
  int error;     // XL_JSON_*; once set, every call fails
  size_t error_at;
} xl_json;

// Records the first error (at the current position) and returns 0.
int xl_json_fail(xl_json *j, int error);

// The small calls below run for nearly every byte of a file, so they are inline.
static inline void xl_json_space(xl_json *j) {
  const uint8_t *s = j->s;
  size_t pos = j->pos, len = j->len;
  while (pos < len && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) pos++;
  j->pos = pos;
}

// Peeks at the next non-space byte (0 at the end).
static inline uint8_t xl_json_peek(xl_json *j) {
  xl_json_space(j);
  return j->pos < j->len ? j->s[j->pos] : 0;
}

// Skips whitespace and consumes c when it comes next; returns whether it did.
static inline int xl_json_eat(xl_json *j, uint8_t c) {
  if (j->error || xl_json_peek(j) != c) return 0;
  j->pos++;
  return 1;
}

// Like xl_json_eat, but anything else is an error.
int xl_json_expect(xl_json *j, uint8_t c);
// Validates and skips one value; depth counts the containers already entered.
int xl_json_skip(xl_json *j, int depth);

// Containers: after eating '{' or '[', call xl_json_more with count = 0 before each member; it
// consumes the separating comma or the closing byte and returns 0 at the end (or on an error).
int xl_json_more(xl_json *j, uint8_t close, int32_t *count);

// Strings: after eating '"', xl_json_char gives one character per call (escapes and surrogate
// pairs decoded, a lone surrogate as itself, invalid UTF-8 as XL_INVALID_CP) and returns 1, or 0
// once the closing quote is eaten or on an error.
int xl_json_char_slow(xl_json *j, uint32_t *cp);
static inline int xl_json_char(xl_json *j, uint32_t *cp) {
  uint8_t c = j->pos < j->len ? j->s[j->pos] : 0;
  if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && !j->error) {
    j->pos++;
    *cp = c;
    return 1;
  }
  return xl_json_char_slow(j, cp);
}
// Reads a member's key and its colon. name (cap bytes) gets the key when it is printable ASCII
// shorter than cap, "" otherwise. Returns 0 on an error.
int xl_json_key(xl_json *j, char *name, size_t cap);

#endif
