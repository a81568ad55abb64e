// The tokenizer's C API. The handle is opaque; every buffer passed in stays owned by the caller
// (contents are copied). Functions return >= 0 on success, a negative XL_ERR_* code on error,
// and output functions return -(needed size) when the caller's buffer is too small.
#ifndef XL_TOKENIZER_H
#define XL_TOKENIZER_H
#include <stdint.h>

typedef struct xl_tok xl_tok;

enum { XL_PASS_ADDED_RAW = 1, XL_PASS_ADDED_NORMALIZED = 2 };

// pattern: an xl_split_pattern. ignore_merges: a pre-token found whole in the vocabulary is one token.
xl_tok *xl_tok_new(int32_t pattern, int32_t ignore_merges);
void xl_tok_free(xl_tok *t);
// Model vocabulary: id i has bytes[offsets[i] .. offsets[i + 1]) (byte-level decoded; empty = no id).
int32_t xl_tok_set_vocab(xl_tok *t, const uint8_t *bytes, const int32_t *offsets, int32_t count);
// Merge rules in rank order: rule r joins bytes[offsets[2r] .. offsets[2r + 1]) with
// bytes[offsets[2r + 1] .. offsets[2r + 2]) (byte-level decoded, back to back). On an unknown
// token, returns XL_ERR_UNKNOWN_MERGE_TOKEN and *bad_rule gets the rule's rank.
int32_t xl_tok_set_merges(xl_tok *t, const uint8_t *bytes, const int32_t *offsets, int32_t count, int32_t *bad_rule);
// The model vocabulary's id of a token given by its bytes (byte-level decoded), or -1.
int32_t xl_tok_token_id(const xl_tok *t, const uint8_t *bytes, int32_t len);
// Added tokens: UTF-8 contents packed like the vocabulary, their ids and XL_ADDED_* flags.
int32_t xl_tok_set_added(xl_tok *t, const uint8_t *bytes, const int32_t *offsets, const int32_t *ids,
                         const int32_t *flags, int32_t count);
// Ids of UTF-8 text (already normalized). passes: which added tokens to match (XL_PASS_*):
// raw ones first, then normalized ones in the text between them.
int32_t xl_tok_encode(xl_tok *t, const uint8_t *text, int32_t len, int32_t passes, int32_t *out, int32_t cap);
// Matches of the added tokens that are matched before normalization, as (start, end, id) triples
// of byte offsets; returns the number of int32s written.
int32_t xl_tok_find_added(xl_tok *t, const uint8_t *text, int32_t len, int32_t *out, int32_t cap);

#endif
