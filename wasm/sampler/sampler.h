// The decoding core: log-softmax, top-N, logits processors, truncation and seeded
// sampling over float32 logit rows; the beam-search step; stop-string and token-id scans.
// Every function returns an int; a negative value is one of the XL_ERR_* codes below.
// Buffers are owned by the caller unless a comment says otherwise.
#ifndef XL_SAMPLER_H
#define XL_SAMPLER_H

#include <stdint.h>

enum {
  XL_OK = 0,
  XL_ERR_NAN = -1,          // a logit is NaN
  XL_ERR_POS_INF = -2,      // a logit is +inf
  XL_ERR_ALL_MASKED = -3,   // every logit is -inf (nothing can be chosen)
  XL_ERR_EMPTY_VOCAB = -4,  // vocabulary size < 1
  XL_ERR_BAD_TOKEN = -5,    // a token id outside [0, vocab)
  XL_ERR_BAD_ARG = -6,      // another argument out of range (k < 1, n > limit, ...)
  XL_ERR_NO_MEMORY = -7,
  XL_ERR_TOO_COMPLEX = -8,  // a constraint needs more DFA states than its limit
};

#define XL_MAX_TOP_N 20

// Max and log(sum(exp(row - max))) of a row: log_softmax(row)[i] = row[i] - max - logsum.
int xl_row_stats(const float *row, int vocab, double *out_max_logsum);

// The n largest entries of row, value descending, ties to the lower id. Returns how many
// were written (min(n, vocab)). Internal helper shared with the sampler and the beam step.
int xl_top_values(const float *row, int vocab, int n, int32_t *ids, float *values);

// As xl_top_values, but returns 0 (having given up) once more than max_inserts entries had
// to enter the full list: rows that keep raising the n-th value (ascending logits) cost
// O(n) per entry, and a caller with another way may prefer it.
int xl_top_values_within(const float *row, int vocab, int n, int max_inserts, int32_t *ids, float *values);

// Top-n (n <= XL_MAX_TOP_N) of log_softmax(row): ids and logprobs, highest first.
int xl_log_softmax_top_n(const float *row, int vocab, int n, int32_t *out_ids, double *out_logprobs);

// ---- Sampler: processors, truncation and seeded draws (sampler.c, truncate.c) ----

// Temperatures below this are greedy (vLLM's _SAMPLING_EPS): dividing by them overflows.
#define XL_GREEDY_TEMPERATURE 1e-5

// One row's sampling parameters; the TypeScript wrapper writes this layout byte for byte.
typedef struct {
  double temperature;        // < XL_GREEDY_TEMPERATURE: greedy argmax (ties to the lower id)
  double top_p;              // >= 1: off
  double min_p;              // <= 0: off
  double presence_penalty;   // 0: off
  double frequency_penalty;  // 0: off
  double repetition_penalty; // 1: off
  int32_t top_k;             // <= 0 or >= vocab: off
  int32_t n_prompt;
  const int32_t *prompt_ids;
  int32_t n_output;
  const int32_t *output_ids;
  int32_t n_bias;
  const int32_t *bias_ids;
  const float *bias_values;
  uint32_t rng[4];           // xoshiro128** state of the request, advanced in place
} xl_sample_params;

typedef struct {
  int32_t token;    // the drawn token
  int32_t n_top;    // entries written to top_ids / top_logprobs
  double logprob;   // raw log_softmax of the drawn token
  int32_t top_ids[XL_MAX_TOP_N];
  double top_logprobs[XL_MAX_TOP_N];
} xl_sample_result;

typedef struct xl_sampler xl_sampler;

// A sampler for rows of `vocab` logits, owning a logits buffer of max_rows * vocab floats.
xl_sampler *xl_sampler_new(int vocab, int max_rows);
void xl_sampler_free(xl_sampler *s);
float *xl_sampler_logits(xl_sampler *s);

// Samples logits row `row` of the sampler's buffer; reports raw logprobs (top_n <= 20).
// With with_logprob = 0 and top_n = 0 the log-softmax normaliser is skipped (out->logprob
// is then NaN): a plain greedy or sampled token costs no exp pass over the row.
// The draw: u = a 53-bit uniform from params->rng; the token is the first kept token, in
// id order, at which the cumulative kept probability exceeds u (greedy rows take no u).
int xl_sampler_sample(xl_sampler *s, int row, xl_sample_params *params, int top_n, int with_logprob,
                      xl_sample_result *out);

// The tokens a draw could return for `row` after processing and truncation, with their
// renormalised probabilities (out_ids/out_probs hold vocab entries). Returns the count.
int xl_sampler_kept(xl_sampler *s, int row, const xl_sample_params *params, int32_t *out_ids, double *out_probs);

// ---- Beam search (beam.c) ----

#define XL_MAX_BEAM_K 1024 // candidates per beam

typedef struct {
  double score;    // cumulative logprob
  double key;      // ranking key: score, or score / length^length_penalty
  double logprob;  // logprob of the new token (0 for a carried finished beam)
  int32_t parent;  // index of the beam it extends
  int32_t token;   // new token, -1 for a finished beam carried as it is
  int32_t finished;
  int32_t length;  // generated tokens, the new one included
} xl_beam_candidate;

// One step of beam search. Beam i has cumulative score scores[i], generated length
// lengths[i] and finished[i]; a live beam reads logits row rows[i] (of n_rows rows).
// Each live beam proposes its k best tokens by log_softmax (ties to the lower id), scored
// score + logprob; a proposal whose token is in eos_ids is finished. Finished beams compete
// unchanged. The `width` best by key (descending; ties: lower parent, then lower token, a
// carried beam's -1 first) go to out, best first. `work` holds n_beams * (k + 1) entries.
// Returns the number of survivors.
int xl_beam_step(const float *logits, int vocab, int n_rows, int n_beams, const double *scores,
                 const int32_t *finished, const int32_t *lengths, const int32_t *rows, int k, int width,
                 int use_length_penalty, double length_penalty, const int32_t *eos_ids, int n_eos,
                 xl_beam_candidate *work, xl_beam_candidate *out);

// ---- Stop strings and selector ids (stop.c, select.c) ----

// Looks for stop strings in UTF-8 text; stop j is stops[offsets[j] .. offsets[j+1]).
// Found (returns 1): the occurrence that ends first (ties: the longest, then the stop
// listed first), which a stream fed in any chunks finds too; out[0] = byte where it
// starts, out[1] = its index. Not found (returns 0): out[0] = how many leading
// bytes no future occurrence can touch (the rest is a prefix of some stop string).
int xl_stop_scan(const uint8_t *text, int len, const uint8_t *stops, const int32_t *offsets, int n_stops,
                 int32_t *out);

// Writes every position i with ids[i] == id to out_positions; returns how many.
int xl_find_id(const int32_t *ids, int n, int32_t id, int32_t *out_positions);

#endif
