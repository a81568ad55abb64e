// State shared by sampler.c (processors, draws) and truncate.c (top-k/top-p/min-p).
#ifndef XL_SAMPLER_INTERNAL_H
#define XL_SAMPLER_INTERNAL_H

#include "sampler.h"

#include <wasm_simd128.h>

#define XL_BLOCK 64 // tokens per block; draws skip whole blocks by their kept mass

// Buckets of processed logits by distance from the row's maximum (see truncate.c). The
// order of buckets is the order of logits; within one bucket it is not known.
enum {
  XL_BUCKET_KEPT = 0,     // a token of the boundary bucket that truncation keeps
  XL_BUCKET_FIRST = 1,    // logits within 1/32 of the maximum
  XL_BUCKET_LAST = 2047,  // logits 127.8 and more below the maximum
  XL_BUCKET_MASKED = 2048, // -inf logits: never kept
  XL_BUCKET_COUNT = 2049,
  // Histograms add 8 discard slots past the buckets for the tokens they skip, so skipping
  // needs no branch, and one slot per position mod 8 keeps the updates from queueing on one
  // counter.
  XL_HISTOGRAM_SIZE = XL_BUCKET_COUNT + 8,
};

struct xl_sampler {
  int vocab, max_rows;
  float *logits;       // max_rows * vocab, written by the caller (e.g. ONNX Runtime)
  float *scratch;      // processed logits of the row being sampled
  float *weights;      // exp(processed - max)
  uint16_t *buckets;   // bucket of each token's processed logit, XL_BUCKET_*
  uint32_t *stamp;     // stamp[t] == epoch marks token t as seen in this call
  int32_t *counts;     // occurrences in the output, valid where stamp == epoch
  uint32_t epoch;
  int32_t *cand_ids, *tmp_ids; // one bucket's tokens, sorted by processed logit
  uint32_t *cand_keys, *tmp_keys;
  uint32_t bucket_tokens[XL_HISTOGRAM_SIZE]; // histogram: tokens per bucket
  double bucket_mass[XL_HISTOGRAM_SIZE];     // histogram: weight per bucket
};

// The set a draw picks from, left in the sampler's buffers by xl_truncate.
typedef struct {
  int mode;       // XL_KEEP_*
  int32_t token;  // XL_KEEP_ONE: the token
  int cut;        // XL_KEEP_WEIGHTS: tokens in buckets below `cut` pass top-k and top-p,
  float min_p;    // and those of them with weight >= min_p (0: all) pass min-p
  double mass;    // sum of the kept weights
  float max;      // maximum of the processed row
  double total;   // XL_KEEP_WEIGHTS: sum of all weights, so log_softmax(proc) = proc - max - log(total)
} xl_kept_set;

enum {
  XL_KEEP_ONE = 0,     // greedy: exactly one token
  XL_KEEP_WEIGHTS = 1, // the tokens xl_is_kept accepts, drawn by their weights
};

static inline int xl_is_kept(const xl_sampler *s, int t, int cut, float min_p) {
  return s->buckets[t] < cut && s->weights[t] >= min_p;
}

// Weights of the 8 tokens at i, zero where not kept: lanes 0-3 + lanes 4-7 summed pairwise.
static inline v128_t xl_kept_weights8(const xl_sampler *s, int i, int cut, float min_p) {
  const v128_t below = wasm_u16x8_lt(wasm_v128_load(s->buckets + i), wasm_i16x8_splat((int16_t)cut));
  const v128_t vmin = wasm_f32x4_splat(min_p);
  const v128_t w0 = wasm_v128_load(s->weights + i), w1 = wasm_v128_load(s->weights + i + 4);
  const v128_t k0 = wasm_v128_and(wasm_i32x4_extend_low_i16x8(below), wasm_f32x4_ge(w0, vmin));
  const v128_t k1 = wasm_v128_and(wasm_i32x4_extend_high_i16x8(below), wasm_f32x4_ge(w1, vmin));
  return wasm_f32x4_add(wasm_v128_and(w0, k0), wasm_v128_and(w1, k1));
}

// Applies top-k, top-p and min-p to the processed row `proc` whose maximum is `max`
// (finite): fills weights and buckets, and describes the kept set in `kept`.
void xl_truncate(xl_sampler *s, const float *proc, float max, const xl_sample_params *p, xl_kept_set *kept);

#endif
