#include "tables.h"
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "unicode.h"

typedef struct {
  int32_t id, at, len;  // at: into the key bytes, in file order
} vocab_entry;

// A growable array of items of one size.
typedef struct {
  void *data;
  size_t used, cap;
} vec;

struct xl_tables {
  vec keys;     // uint8_t: vocab keys' bytes in file order
  vec entries;  // vocab_entry
  int32_t vocab_count;
  uint8_t *vocab_bytes;
  int32_t *vocab_offsets;
  uint8_t *vocab_present;
  vec merge_bytes;    // uint8_t
  vec merge_offsets;  // int32_t
  int32_t merge_count;
};

typedef struct {
  xl_json j;
  xl_tables *t;
  int32_t *report;
  int seen_model, seen_vocab, seen_merges;
} reader;

// The byte behind each character of GPT-2's byte-level alphabet (-1: not in it).
static int16_t char_to_byte[324];

static void init_byte_level(void) {
  if (char_to_byte['!'] == '!') return;
  for (int c = 0; c < 324; c++) char_to_byte[c] = -1;
  int next = 256;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    char_to_byte[printable ? b : next++] = (int16_t)b;
  }
}

// Room for n more items.
static int reserve(reader *r, vec *v, size_t n, size_t item) {
  if (v->used + n <= v->cap) return 1;
  size_t cap = v->cap ? v->cap * 2 : 4096;
  while (cap < v->used + n) cap *= 2;
  void *data = realloc(v->data, cap * item);
  if (!data) return xl_json_fail(&r->j, XL_JSON_STOPPED);
  v->data = data;
  v->cap = cap;
  return 1;
}

static int push_i32(reader *r, vec *v, int32_t x) {
  if (!reserve(r, v, 1, sizeof x)) return 0;
  ((int32_t *)v->data)[v->used++] = x;
  return 1;
}

static void problem(reader *r, int kind, size_t start, size_t end, int32_t number) {
  if (r->report[XL_REPORT_PROBLEM]) return;
  r->report[XL_REPORT_PROBLEM] = kind;
  r->report[XL_REPORT_PROBLEM_START] = (int32_t)start;
  r->report[XL_REPORT_PROBLEM_END] = (int32_t)end;
  r->report[XL_REPORT_PROBLEM_NUMBER] = number;
}

// Spaces met in a merge rule written "left right": how many, and where the last one split it.
typedef struct {
  int count;
  size_t at;
} spaces;

// Appends the byte behind one character; returns 0 when it is outside the alphabet.
static inline int put_char(uint32_t cp, uint8_t *out, size_t *n, spaces *split) {
  if (cp == ' ' && split) {
    split->count++;
    split->at = *n;
    return 1;
  }
  int b = cp < 324 ? char_to_byte[cp] : -1;
  if (b < 0) return 0;
  out[(*n)++] = (uint8_t)b;
  return 1;
}

// The rest of a string (after its opening quote) as byte-level bytes appended to out; returns
// whether every character was in the alphabet (spaces aside when split is given). The whole
// string is consumed either way.
static int read_token(reader *r, vec *out, spaces *split) {
  xl_json *j = &r->j;
  const uint8_t *s = j->s;
  size_t end = j->pos;
  int plain = 1;  // no escape or control character: decode the UTF-8 directly
  for (; end < j->len && s[end] != '"'; end++) {
    if (s[end] == '\\') {
      plain = 0;
      end++;
    } else if (s[end] < 0x20) {
      plain = 0;
    }
  }
  if (!reserve(r, out, end - j->pos, 1)) return 0;  // at most one byte per byte of text
  uint8_t *bytes = out->data;
  size_t n = out->used;
  int byte_level = 1;
  uint32_t cp;
  if (plain && end < j->len) {
    for (size_t p = j->pos; p < end;) {
      // The alphabet is U+0021..U+0143: ASCII or two bytes led by 0xc2..0xc5. Anything else is
      // outside it, whatever its length; stepping over it a byte at a time is enough.
      uint8_t c = s[p++];
      cp = c;
      if (c >= 0x80) {
        if (c >= 0xc2 && c <= 0xc5 && p < end && (s[p] & 0xc0) == 0x80) cp = (uint32_t)(c & 0x1f) << 6 | (s[p++] & 0x3f);
        else cp = XL_INVALID_CP;
      }
      byte_level &= put_char(cp, bytes, &n, split);
    }
    j->pos = end + 1;
  } else {
    while (xl_json_char(j, &cp)) byte_level &= put_char(cp, bytes, &n, split);
  }
  out->used = n;
  return byte_level && !j->error;
}

// A vocab value as an id, or -1 when it is not a non-negative integer (JSON.parse would accept
// 1.0 or 1e0, serde's u32 does not); ids past XL_MAX_VOCAB_ID give XL_MAX_VOCAB_ID + 1.
static int32_t read_id(reader *r, int depth) {
  xl_json *j = &r->j;
  xl_json_space(j);
  size_t start = j->pos, end = start;
  int64_t id = 0;
  for (; end < j->len && j->s[end] >= '0' && j->s[end] <= '9'; end++)
    if (id <= XL_MAX_VOCAB_ID) id = id * 10 + (j->s[end] - '0');
  int whole = end > start && (j->s[start] != '0' || end == start + 1) &&
              (end == j->len || (j->s[end] != '.' && j->s[end] != 'e' && j->s[end] != 'E'));
  if (!whole) {
    xl_json_skip(j, depth);  // a grammar error, or a value of another kind
    return -1;
  }
  j->pos = end;
  return id > XL_MAX_VOCAB_ID ? XL_MAX_VOCAB_ID + 1 : (int32_t)id;
}

static void read_vocab(reader *r) {
  xl_json *j = &r->j;
  int32_t count = 0;
  j->pos++;  // '{'
  while (xl_json_more(j, '}', &count)) {
    xl_json_space(j);
    size_t key_start = j->pos;
    if (!xl_json_expect(j, '"')) return;
    size_t at = r->t->keys.used;
    int byte_level = read_token(r, &r->t->keys, NULL);
    size_t key_end = j->pos;
    if (!xl_json_expect(j, ':')) return;
    int32_t id = read_id(r, 3);
    if (j->error) return;
    if (!byte_level) problem(r, XL_PROBLEM_VOCAB_NOT_BYTE_LEVEL, key_start, key_end, 0);
    if (id < 0) problem(r, XL_PROBLEM_VOCAB_ID, key_start, key_end, 0);
    if (id > XL_MAX_VOCAB_ID) problem(r, XL_PROBLEM_VOCAB_ID_TOO_LARGE, key_start, key_end, XL_MAX_VOCAB_ID);
    if (!byte_level || id < 0 || id > XL_MAX_VOCAB_ID) continue;
    if (!reserve(r, &r->t->entries, 1, sizeof(vocab_entry))) return;
    ((vocab_entry *)r->t->entries.data)[r->t->entries.used++] = (vocab_entry){id, (int32_t)at, (int32_t)(r->t->keys.used - at)};
  }
}

// One merge rule, "left right" or ["left", "right"]; returns 0 when it has another shape or a
// token outside the alphabet (the entry is then only partly read).
static int read_rule(reader *r) {
  xl_json *j = &r->j;
  vec *bytes = &r->t->merge_bytes;
  size_t start = bytes->used;
  if (!push_i32(r, &r->t->merge_offsets, (int32_t)start)) return 0;
  if (xl_json_eat(j, '"')) {
    spaces split = {0, 0};
    return read_token(r, bytes, &split) && split.count == 1 && split.at > start && bytes->used > split.at &&
           push_i32(r, &r->t->merge_offsets, (int32_t)split.at);
  }
  if (!xl_json_eat(j, '[') || !xl_json_eat(j, '"') || !read_token(r, bytes, NULL) || bytes->used == start) return 0;
  size_t split = bytes->used;
  return xl_json_eat(j, ',') && xl_json_eat(j, '"') && read_token(r, bytes, NULL) && bytes->used > split &&
         xl_json_eat(j, ']') && push_i32(r, &r->t->merge_offsets, (int32_t)split);
}

static void read_merges(reader *r) {
  xl_json *j = &r->j;
  xl_tables *t = r->t;
  int32_t count = 0;
  j->pos++;  // '['
  while (xl_json_more(j, ']', &count)) {
    xl_json_space(j);
    size_t entry_start = j->pos, offsets_used = t->merge_offsets.used, bytes_used = t->merge_bytes.used;
    if (!read_rule(r)) {
      if (j->error) return;
      // Keep the layout whole (an empty rule) and let the grammar check read the entry.
      j->pos = entry_start;
      t->merge_offsets.used = offsets_used;
      t->merge_bytes.used = bytes_used;
      if (!xl_json_skip(j, 3) || !push_i32(r, &t->merge_offsets, (int32_t)bytes_used) ||
          !push_i32(r, &t->merge_offsets, (int32_t)bytes_used))
        return;
      problem(r, XL_PROBLEM_MERGE, entry_start, j->pos, count - 1);
    }
    t->merge_count++;
  }
}

// After a key: reads the value with `read` when it is a container opened by `open`, skips it
// otherwise; the key must come once.
static void read_member(reader *r, int *seen, uint8_t open, int depth, void (*read)(reader *), int report_span) {
  xl_json *j = &r->j;
  if ((*seen)++) {
    xl_json_fail(j, XL_JSON_DUPLICATE_KEY);
    return;
  }
  if (xl_json_peek(j) != open) {
    xl_json_skip(j, depth);
    return;
  }
  size_t start = j->pos;
  read(r);
  if (report_span >= 0 && !j->error) {
    r->report[report_span] = (int32_t)start;
    r->report[report_span + 1] = (int32_t)j->pos;
  }
}

static void read_model(reader *r) {
  xl_json *j = &r->j;
  int32_t count = 0;
  char key[8];
  j->pos++;  // '{'
  while (xl_json_more(j, '}', &count) && xl_json_key(j, key, sizeof key)) {
    if (strcmp(key, "vocab") == 0) read_member(r, &r->seen_vocab, '{', 2, read_vocab, XL_REPORT_VOCAB_START);
    else if (strcmp(key, "merges") == 0) read_member(r, &r->seen_merges, '[', 2, read_merges, XL_REPORT_MERGES_START);
    else xl_json_skip(j, 2);
  }
}

static void read_document(reader *r) {
  xl_json *j = &r->j;
  int32_t count = 0;
  char key[8];
  if (xl_json_peek(j) != '{') {
    xl_json_skip(j, 0);
  } else {
    j->pos++;
    while (xl_json_more(j, '}', &count) && xl_json_key(j, key, sizeof key)) {
      if (strcmp(key, "model") == 0) read_member(r, &r->seen_model, '{', 1, read_model, -1);
      else xl_json_skip(j, 1);
    }
  }
  xl_json_space(j);
  if (!j->error && j->pos < j->len) xl_json_fail(j, XL_JSON_TRAILING);
}

// Orders the vocab keys by id.
static void pack_vocab(reader *r) {
  xl_tables *t = r->t;
  const vocab_entry *entries = t->entries.data;
  size_t n = t->entries.used;
  int32_t count = 0;
  int in_order = 1;  // ids 0, 1, 2, ... in file order: the usual layout
  for (size_t i = 0; i < n; i++) {
    if (entries[i].id >= count) count = entries[i].id + 1;
    in_order &= entries[i].id == (int32_t)i;
  }
  t->vocab_offsets = malloc(((size_t)count + 1) * sizeof *t->vocab_offsets);
  t->vocab_present = malloc((size_t)count + 1);
  if (!t->vocab_offsets || !t->vocab_present) {
    xl_json_fail(&r->j, XL_JSON_STOPPED);
    return;
  }
  t->vocab_count = count;
  if (in_order) {  // the key bytes already are the table
    for (int32_t id = 0; id < count; id++) t->vocab_offsets[id] = entries[id].at;
    t->vocab_offsets[count] = (int32_t)t->keys.used;
    memset(t->vocab_present, 1, (size_t)count);
    t->vocab_bytes = t->keys.data;
    t->keys.data = NULL;
    return;
  }
  int32_t *entry_of = malloc(((size_t)count + 1) * sizeof *entry_of);
  t->vocab_bytes = malloc(t->keys.used + 1);
  if (!entry_of || !t->vocab_bytes) {
    free(entry_of);
    xl_json_fail(&r->j, XL_JSON_STOPPED);
    return;
  }
  for (int32_t id = 0; id < count; id++) entry_of[id] = -1;
  for (size_t i = 0; i < n; i++) {
    if (entry_of[entries[i].id] >= 0) problem(r, XL_PROBLEM_VOCAB_ID_TWICE, 0, 0, entries[i].id);
    entry_of[entries[i].id] = (int32_t)i;
  }
  const uint8_t *keys = t->keys.data;
  int32_t at = 0;
  for (int32_t id = 0; id < count; id++) {
    t->vocab_offsets[id] = at;
    t->vocab_present[id] = entry_of[id] >= 0;
    if (entry_of[id] < 0) continue;
    const vocab_entry *e = &entries[entry_of[id]];
    memcpy(t->vocab_bytes + at, keys + e->at, (size_t)e->len);
    at += e->len;
  }
  t->vocab_offsets[count] = at;
  free(entry_of);
}

xl_tables *xl_tables_read(const uint8_t *text, int32_t len, int32_t *report) {
  for (int i = 0; i < XL_REPORT_SIZE; i++) report[i] = 0;
  for (int i = XL_REPORT_VOCAB_START; i <= XL_REPORT_MERGES_END; i++) report[i] = -1;
  xl_tables *t = calloc(1, sizeof *t);
  if (!t) {
    report[XL_REPORT_JSON_ERROR] = XL_JSON_STOPPED;
    return NULL;
  }
  init_byte_level();
  reader r = {.j = {.s = text, .len = len < 0 ? 0 : (size_t)len}, .t = t, .report = report};
  read_document(&r);
  if (!r.j.error) {
    push_i32(&r, &t->merge_offsets, (int32_t)t->merge_bytes.used);  // the last rule's end
    pack_vocab(&r);
  }
  report[XL_REPORT_JSON_ERROR] = r.j.error;
  report[XL_REPORT_JSON_ERROR_AT] = (int32_t)r.j.error_at;
  report[XL_REPORT_VOCAB_COUNT] = t->vocab_count;
  report[XL_REPORT_VOCAB_BYTES] = (int32_t)(intptr_t)t->vocab_bytes;
  report[XL_REPORT_VOCAB_OFFSETS] = (int32_t)(intptr_t)t->vocab_offsets;
  report[XL_REPORT_VOCAB_PRESENT] = (int32_t)(intptr_t)t->vocab_present;
  report[XL_REPORT_MERGE_COUNT] = t->merge_count;
  report[XL_REPORT_MERGE_BYTES] = (int32_t)(intptr_t)t->merge_bytes.data;
  report[XL_REPORT_MERGE_OFFSETS] = (int32_t)(intptr_t)t->merge_offsets.data;
  return t;
}

void xl_tables_free(xl_tables *t) {
  if (!t) return;
  free(t->keys.data);
  free(t->entries.data);
  free(t->vocab_bytes);
  free(t->vocab_offsets);
  free(t->vocab_present);
  free(t->merge_bytes.data);
  free(t->merge_offsets.data);
  free(t);
}
