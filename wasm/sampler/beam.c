// The beam-search step: every live beam proposes its top-k tokens, and the best `width`
// of all proposals plus the finished beams survive.
#include <math.h>
#include <stdlib.h>

#include "sampler.h"

_Static_assert(sizeof(xl_beam_candidate) == 40, "beam candidate layout");

static int better_first(const void *a, const void *b) {
  const xl_beam_candidate *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  if (x->parent != y->parent) return x->parent < y->parent ? -1 : 1;
  return (x->token > y->token) - (x->token < y->token);
}

static double ranking_key(double score, int length, int use_length_penalty, double length_penalty) {
  if (!use_length_penalty) return score;
  return score / pow(length > 0 ? length : 1, length_penalty);
}

static int is_eos(int32_t token, const int32_t *eos_ids, int n_eos) {
  for (int i = 0; i < n_eos; i++) {
    if (eos_ids[i] == token) return 1;
  }
  return 0;
}

int xl_beam_step(const float *logits, int vocab, int n_rows, int n_beams, const double *scores,
                 const int32_t *finished, const int32_t *lengths, const int32_t *rows, int k, int width,
                 int use_length_penalty, double length_penalty, const int32_t *eos_ids, int n_eos,
                 xl_beam_candidate *work, xl_beam_candidate *out) {
  if (vocab < 1) return XL_ERR_EMPTY_VOCAB;
  if (k < 1 || k > XL_MAX_BEAM_K || width < 1 || n_beams < 1 || n_eos < 0) return XL_ERR_BAD_ARG;
  if (use_length_penalty && length_penalty != length_penalty) return XL_ERR_BAD_ARG;
  int32_t ids[XL_MAX_BEAM_K];
  float values[XL_MAX_BEAM_K];
  int count = 0;
  for (int i = 0; i < n_beams; i++) {
    if (scores[i] != scores[i] || lengths[i] < 0) return XL_ERR_BAD_ARG;
    if (finished[i]) {
      work[count++] = (xl_beam_candidate){scores[i], ranking_key(scores[i], lengths[i], use_length_penalty, length_penalty),
                                          0, i, -1, 1, lengths[i]};
      continue;
    }
    if (rows[i] < 0 || rows[i] >= n_rows) return XL_ERR_BAD_ARG;
    const float *row = logits + (size_t)rows[i] * (size_t)vocab;
    double stats[2];
    const int status = xl_row_stats(row, vocab, stats);
    if (status < 0) return status;
    const int n = xl_top_values(row, vocab, k, ids, values);
    for (int j = 0; j < n; j++) {
      if (values[j] == -INFINITY) break; // impossible tokens are no candidates
      const double logprob = ((double)values[j] - stats[0]) - stats[1];
      const double score = scores[i] + logprob;
      const int length = lengths[i] + 1;
      work[count++] = (xl_beam_candidate){score, ranking_key(score, length, use_length_penalty, length_penalty),
                                          logprob, i, ids[j], is_eos(ids[j], eos_ids, n_eos), length};
    }
  }
  qsort(work, (size_t)count, sizeof *work, better_first);
  const int survivors = count < width ? count : width;
  for (int j = 0; j < survivors; j++) out[j] = work[j];
  return survivors;
}
