#include "tokenizer.h"
#include <stdlib.h>
#include "added.h"
#include "bpe.h"
#include "cache.h"
#include "errors.h"
#include "hash.h"
#include "pretokenize.h"

struct xl_tok {
  xl_split_pattern pattern;
  int ignore_merges;
  int has_vocab, has_merges, has_added;
  xl_vocab vocab;
  xl_merges merges;
  xl_added added;
  xl_cache cache;
  xl_bpe_scratch scratch;
  int32_t *word_ids;  // room for one word's ids (owned)
  size_t word_cap;
};

typedef struct {
  int32_t *out;
  int32_t cap, count, error;
} sink;

static void emit(sink *k, int32_t id) {
  if (k->count < k->cap) k->out[k->count] = id;
  k->count++;
}

xl_tok *xl_tok_new(int32_t pattern, int32_t ignore_merges) {
  if (pattern < XL_SPLIT_NONE || pattern > XL_SPLIT_LLAMA3) return NULL;
  xl_tok *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->pattern = (xl_split_pattern)pattern;
  t->ignore_merges = ignore_merges != 0;
  if (xl_cache_init(&t->cache)) {
    xl_tok_free(t);
    return NULL;
  }
  return t;
}

void xl_tok_free(xl_tok *t) {
  if (!t) return;
  if (t->has_vocab) xl_vocab_free(&t->vocab);
  if (t->has_merges) xl_merges_free(&t->merges);
  if (t->has_added) xl_added_free(&t->added);
  xl_cache_free(&t->cache);
  xl_bpe_scratch_free(&t->scratch);
  free(t->word_ids);
  free(t);
}

int32_t xl_tok_set_vocab(xl_tok *t, const uint8_t *bytes, const int32_t *offsets, int32_t count) {
  if (t->has_vocab || count < 0) return XL_ERR_BAD_ARGUMENT;
  t->has_vocab = 1;
  int err = xl_vocab_init(&t->vocab, bytes, offsets, count);
  if (err) return err;
  for (int b = 0; b < 256; b++)
    if (t->vocab.byte_ids[b] < 0) return XL_ERR_MISSING_BYTE_TOKEN;
  return 0;
}

int32_t xl_tok_set_merges(xl_tok *t, const uint8_t *bytes, const int32_t *offsets, int32_t count, int32_t *bad_rule) {
  if (!t->has_vocab || t->has_merges || count < 0) return XL_ERR_BAD_ARGUMENT;
  int32_t *triples = malloc(((size_t)count * 3 + 1) * sizeof *triples);
  if (!triples) return XL_ERR_NO_MEMORY;
  for (int32_t r = 0; r < count; r++) {
    const int32_t *o = offsets + 2 * (size_t)r;
    int32_t left = xl_vocab_find(&t->vocab, bytes + o[0], (size_t)(o[1] - o[0]));
    int32_t right = xl_vocab_find(&t->vocab, bytes + o[1], (size_t)(o[2] - o[1]));
    int32_t merged = xl_vocab_find(&t->vocab, bytes + o[0], (size_t)(o[2] - o[0]));
    if (left < 0 || right < 0 || merged < 0) {
      free(triples);
      *bad_rule = r;
      return XL_ERR_UNKNOWN_MERGE_TOKEN;
    }
    triples[3 * r] = left;
    triples[3 * r + 1] = right;
    triples[3 * r + 2] = merged;
  }
  t->has_merges = 1;
  int err = xl_merges_init(&t->merges, triples, count);
  free(triples);
  return err;
}

int32_t xl_tok_token_id(const xl_tok *t, const uint8_t *bytes, int32_t len) {
  if (!t->has_vocab || len <= 0) return -1;
  return xl_vocab_find(&t->vocab, bytes, (size_t)len);
}

int32_t xl_tok_set_added(xl_tok *t, const uint8_t *bytes, const int32_t *offsets, const int32_t *ids,
                         const int32_t *flags, int32_t count) {
  if (t->has_added || count < 0) return XL_ERR_BAD_ARGUMENT;
  t->has_added = 1;
  return xl_added_init(&t->added, bytes, offsets, ids, flags, count);
}

static void encode_word(xl_tok *t, const uint8_t *word, size_t len, sink *k) {
  if (t->ignore_merges) {
    int32_t id = xl_vocab_find(&t->vocab, word, len);
    if (id >= 0) {
      emit(k, id);
      return;
    }
  }
  uint64_t hash = xl_hash_bytes(word, len);
  int32_t count;
  const int32_t *ids = xl_cache_get(&t->cache, word, len, hash, &count);
  if (!ids) {
    if (len > t->word_cap) {
      int32_t *grown = realloc(t->word_ids, len * sizeof *grown);
      if (!grown) {
        k->error = XL_ERR_NO_MEMORY;
        return;
      }
      t->word_ids = grown;
      t->word_cap = len;
    }
    count = xl_bpe_word(&t->vocab, &t->merges, &t->scratch, word, len, t->word_ids);
    if (count < 0) {
      k->error = count;
      return;
    }
    xl_cache_put(&t->cache, word, len, hash, t->word_ids, count);
    ids = t->word_ids;
  }
  for (int32_t i = 0; i < count; i++) emit(k, ids[i]);
}

static void encode_plain(xl_tok *t, const uint8_t *s, size_t len, sink *k) {
  for (size_t pos = 0; pos < len && !k->error;) {
    size_t end = xl_split_next(t->pattern, s, len, pos);
    encode_word(t, s + pos, end - pos, k);
    pos = end;
  }
}

// Splits s on the added tokens of one kind; the text between goes to the next pass.
static void encode_pass(xl_tok *t, const uint8_t *s, size_t len, int32_t passes, int normalized, sink *k) {
  int wanted = normalized ? (passes & XL_PASS_ADDED_NORMALIZED) : (passes & XL_PASS_ADDED_RAW);
  if (!wanted || !t->has_added) {
    if (normalized) encode_plain(t, s, len, k);
    else encode_pass(t, s, len, passes, 1, k);
    return;
  }
  size_t done = 0;
  xl_added_match m;
  while (!k->error && xl_added_next(&t->added, normalized, s, len, done, done, &m)) {
    if (m.start > done) {
      if (normalized) encode_plain(t, s + done, m.start - done, k);
      else encode_pass(t, s + done, m.start - done, passes, 1, k);
    }
    emit(k, m.id);
    done = m.end;
  }
  if (done < len && !k->error) {
    if (normalized) encode_plain(t, s + done, len - done, k);
    else encode_pass(t, s + done, len - done, passes, 1, k);
  }
}

int32_t xl_tok_encode(xl_tok *t, const uint8_t *text, int32_t len, int32_t passes, int32_t *out, int32_t cap) {
  if (!t->has_vocab || !t->has_merges || len < 0 || cap < 0) return XL_ERR_BAD_ARGUMENT;
  sink k = {out, cap, 0, 0};
  encode_pass(t, text, (size_t)len, passes, 0, &k);
  if (k.error) return k.error;
  return k.count <= cap ? k.count : -k.count;
}

int32_t xl_tok_find_added(xl_tok *t, const uint8_t *text, int32_t len, int32_t *out, int32_t cap) {
  if (len < 0 || cap < 0) return XL_ERR_BAD_ARGUMENT;
  if (!t->has_added) return 0;
  int32_t n = 0;
  size_t done = 0;
  xl_added_match m;
  while (xl_added_next(&t->added, 0, text, (size_t)len, done, done, &m)) {
    if (n + 3 <= cap) {
      out[n] = (int32_t)m.start;
      out[n + 1] = (int32_t)m.end;
      out[n + 2] = m.id;
    }
    n += 3;
    done = m.end;
  }
  return n <= cap ? n : -n;
}
