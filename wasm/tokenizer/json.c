#include "json.h"
#include "unicode.h"

int xl_json_fail(xl_json *j, int error) {
  if (!j->error) {
    j->error = error;
    j->error_at = j->pos;
  }
  return 0;
}

static int fail_here(xl_json *j) {
  return xl_json_fail(j, j->pos >= j->len ? XL_JSON_UNEXPECTED_END : XL_JSON_UNEXPECTED_CHAR);
}

int xl_json_expect(xl_json *j, uint8_t c) { return xl_json_eat(j, c) || fail_here(j); }

int xl_json_more(xl_json *j, uint8_t close, int32_t *count) {
  if (j->error || xl_json_eat(j, close)) return 0;
  if (*count > 0 && !xl_json_eat(j, ',')) return fail_here(j);  // "[1,]" fails at the member
  (*count)++;
  return 1;
}

static int hex4(xl_json *j, uint32_t *out) {
  if (j->len - j->pos < 4) return xl_json_fail(j, XL_JSON_BAD_STRING);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t c = j->s[j->pos + i];
    uint32_t d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10u : c >= 'A' && c <= 'F' ? c - 'A' + 10u : 16;
    if (d == 16) return xl_json_fail(j, XL_JSON_BAD_STRING);
    v = v << 4 | d;
  }
  j->pos += 4;
  *out = v;
  return 1;
}

static int escape(xl_json *j, uint32_t *cp) {
  if (j->pos >= j->len) return xl_json_fail(j, XL_JSON_UNEXPECTED_END);
  uint8_t c = j->s[j->pos++];
  switch (c) {
    case '"': case '\\': case '/': *cp = c; return 1;
    case 'b': *cp = '\b'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'n': *cp = '\n'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 't': *cp = '\t'; return 1;
    case 'u': break;
    default: j->pos--; return xl_json_fail(j, XL_JSON_BAD_STRING);
  }
  if (!hex4(j, cp)) return 0;
  // A high surrogate escape followed by a low one is one character; otherwise it stays alone.
  if (*cp >= 0xd800 && *cp <= 0xdbff && j->len - j->pos >= 6 && j->s[j->pos] == '\\' && j->s[j->pos + 1] == 'u') {
    size_t at = j->pos;
    uint32_t low;
    j->pos += 2;
    if (!hex4(j, &low)) return 0;
    if (low >= 0xdc00 && low <= 0xdfff) *cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
    else j->pos = at;
  }
  return 1;
}

int xl_json_char_slow(xl_json *j, uint32_t *cp) {
  if (j->error) return 0;
  if (j->pos >= j->len) return xl_json_fail(j, XL_JSON_UNEXPECTED_END);
  uint8_t c = j->s[j->pos];
  if (c == '"') {
    j->pos++;
    return 0;
  }
  if (c < 0x20) return xl_json_fail(j, XL_JSON_BAD_STRING);
  if (c == '\\') {
    j->pos++;
    return escape(j, cp);
  }
  size_t width;
  *cp = xl_decode(j->s, j->len, j->pos, &width);
  j->pos += width;
  return 1;
}

int xl_json_key(xl_json *j, char *name, size_t cap) {
  if (!xl_json_expect(j, '"')) return 0;
  size_t n = 0;
  int fits = 1;
  uint32_t cp;
  while (xl_json_char(j, &cp)) {
    if (cp < 0x20 || cp > 0x7e || n + 1 >= cap) fits = 0;
    else name[n++] = (char)cp;
  }
  name[fits ? n : 0] = '\0';
  return !j->error && xl_json_expect(j, ':');
}

// The rest of a string after its opening quote, without decoding characters.
static int skip_string(xl_json *j) {
  while (j->pos < j->len) {
    uint8_t c = j->s[j->pos];
    if (c == '"') {
      j->pos++;
      return 1;
    }
    if (c < 0x20) return xl_json_fail(j, XL_JSON_BAD_STRING);
    j->pos++;
    if (c == '\\') {
      uint32_t cp;
      if (!escape(j, &cp)) return 0;
    }
  }
  return xl_json_fail(j, XL_JSON_UNEXPECTED_END);
}

static int digits(xl_json *j) {
  size_t start = j->pos;
  while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9') j->pos++;
  return j->pos > start || xl_json_fail(j, XL_JSON_BAD_NUMBER);
}

static int skip_number(xl_json *j) {
  if (j->s[j->pos] == '-') j->pos++;
  if (j->pos < j->len && j->s[j->pos] == '0') j->pos++;
  else if (!digits(j)) return 0;
  if (j->pos < j->len && j->s[j->pos] == '.') {
    j->pos++;
    if (!digits(j)) return 0;
  }
  if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
    j->pos++;
    if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-')) j->pos++;
    if (!digits(j)) return 0;
  }
  return 1;
}

static int skip_word(xl_json *j, const char *word) {
  for (size_t i = 0; word[i]; i++, j->pos++)
    if (j->pos >= j->len || j->s[j->pos] != (uint8_t)word[i]) return fail_here(j);
  return 1;
}

int xl_json_skip(xl_json *j, int depth) {
  uint8_t c = xl_json_peek(j);
  if (j->error) return 0;
  if (j->pos >= j->len) return fail_here(j);
  if ((c == '{' || c == '[') && depth >= XL_JSON_MAX_DEPTH) return xl_json_fail(j, XL_JSON_TOO_DEEP);
  int32_t count = 0;
  switch (c) {
    case '{':
      j->pos++;
      while (xl_json_more(j, '}', &count)) {
        if (!xl_json_expect(j, '"') || !skip_string(j) || !xl_json_expect(j, ':') || !xl_json_skip(j, depth + 1)) return 0;
      }
      return !j->error;
    case '[':
      j->pos++;
      while (xl_json_more(j, ']', &count))
        if (!xl_json_skip(j, depth + 1)) return 0;
      return !j->error;
    case '"':
      j->pos++;
      return skip_string(j);
    case 't': return skip_word(j, "true");
    case 'f': return skip_word(j, "false");
    case 'n': return skip_word(j, "null");
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return skip_number(j);
      return fail_here(j);
  }
}
