// State shared by sampler.c (processors, draws) and truncate.c (top-k/top-p/min-p).
#ifndef XL_SAMPLER_INTERNAL_H
#define XL_SAMPLER_INTERNAL_H

#include "sampler.h"

#define XL_BLOCK 64 // weights per block sum; draws skip whole blocks

struct xl_sampler {
  int vocab, max_rows;
  float *logits;       // max_rows * vocab, written by the caller (e.g. ONNX Runtime)
  float *scratch;      // processed logits of the row being sampled
  float *weights;      // exp(processed - max); in mask mode zero outside the kept set
  double *block_sums;  // sum of each XL_BLOCK weights
  uint32_t *stamp;     // stamp[t] == epoch marks token t as seen in this call
  int32_t *counts;     // occurrences in the output, valid where stamp == epoch
  uint32_t epoch;
  int32_t *cand_ids, *tmp_ids;
  uint32_t *cand_keys, *tmp_keys;
};

// The set a draw picks from, left in the sampler's buffers by xl_truncate.
typedef struct {
  int mode;       // XL_KEEP_*
  int count;      // kept tokens
  int32_t token;  // XL_KEEP_ONE: the token
  double mass;    // sum of the kept weights
} xl_kept_set;

enum {
  XL_KEEP_ONE = 0,  // greedy: exactly one token
  XL_KEEP_MASK = 1, // every token with weights[i] > 0 (no top-k/top-p)
  XL_KEEP_LIST = 2, // cand_ids[0..count), sorted by processed logit desc, id asc
};

// Applies top-k, top-p and min-p to the processed row `proc` whose maximum is `max`
// (finite): fills weights and block sums, and describes the kept set in `kept`.
int xl_truncate(xl_sampler *s, const float *proc, float max, const xl_sample_params *p, xl_kept_set *kept);

#endif
