// The sampler handle: logits processors (vLLM's order), greedy choice, seeded draws.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"
#include "vec_math.h"

// The TypeScript side writes these structs through fixed offsets (src/sampling/sampler.ts:
// PARAMS_BYTES, RESULT_BYTES, writeInputs).
_Static_assert(offsetof(xl_sample_params, top_k) == 48, "params layout");
_Static_assert(offsetof(xl_sample_params, rng) == 80, "params layout");
_Static_assert(sizeof(xl_sample_params) == 96, "params layout");
_Static_assert(offsetof(xl_sample_result, logprob) == 8, "result layout");
_Static_assert(offsetof(xl_sample_result, top_ids) == 16, "result layout");
_Static_assert(offsetof(xl_sample_result, top_logprobs) == 96, "result layout");

xl_sampler *xl_sampler_new(int vocab, int max_rows) {
  if (vocab < 1 || max_rows < 1) return NULL;
  xl_sampler *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  const size_t v = (size_t)vocab;
  s->vocab = vocab;
  s->max_rows = max_rows;
  s->logits = malloc(v * (size_t)max_rows * sizeof(float));
  s->scratch = malloc(v * sizeof(float));
  s->weights = malloc(v * sizeof(float));
  s->buckets = malloc(v * sizeof(uint16_t));
  s->stamp = calloc(v, sizeof(uint32_t));
  s->counts = malloc(v * sizeof(int32_t));
  s->cand_ids = malloc(v * sizeof(int32_t));
  s->tmp_ids = malloc(v * sizeof(int32_t));
  s->cand_keys = malloc(v * sizeof(uint32_t));
  s->tmp_keys = malloc(v * sizeof(uint32_t));
  if (!s->logits || !s->scratch || !s->weights || !s->buckets || !s->stamp || !s->counts ||
      !s->cand_ids || !s->tmp_ids || !s->cand_keys || !s->tmp_keys) {
    xl_sampler_free(s);
    return NULL;
  }
  return s;
}

void xl_sampler_free(xl_sampler *s) {
  if (!s) return;
  free(s->logits);
  free(s->scratch);
  free(s->weights);
  free(s->buckets);
  free(s->stamp);
  free(s->counts);
  free(s->cand_ids);
  free(s->tmp_ids);
  free(s->cand_keys);
  free(s->tmp_keys);
  free(s);
}

float *xl_sampler_logits(xl_sampler *s) { return s->logits; }

static int valid_ids(const int32_t *ids, int n, int vocab) {
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) return 0;
  }
  return 1;
}

// A new epoch for the stamp array; on wrap-around old stamps could collide, so clear.
static uint32_t next_epoch(xl_sampler *s) {
  if (s->epoch >= 0xFFFFFFF0u) {
    memset(s->stamp, 0, (size_t)s->vocab * sizeof(uint32_t));
    s->epoch = 0;
  }
  return ++s->epoch;
}

// Repetition penalty on prompt and output tokens, presence/frequency on output tokens,
// then logit bias, each token once, editing scratch (which holds a copy of the row).
static void apply_penalties(xl_sampler *s, const float *row, const xl_sample_params *p) {
  const uint32_t counted = next_epoch(s);
  for (int i = 0; i < p->n_output; i++) {
    const int32_t t = p->output_ids[i];
    if (s->stamp[t] != counted) {
      s->stamp[t] = counted;
      s->counts[t] = 0;
    }
    s->counts[t]++;
  }
  const uint32_t applied = next_epoch(s);
  const float rep = (float)p->repetition_penalty;
  for (int pass = 0; pass < 2; pass++) {
    const int32_t *ids = pass == 0 ? p->output_ids : p->prompt_ids;
    const int n = pass == 0 ? p->n_output : p->n_prompt;
    for (int i = 0; i < n; i++) {
      const int32_t t = ids[i];
      if (s->stamp[t] == applied) continue;
      const int32_t count = s->stamp[t] == counted ? s->counts[t] : 0;
      s->stamp[t] = applied;
      float v = row[t];
      if (rep != 1.0f) v = v > 0 ? v / rep : v * rep;
      if (count > 0) v -= (float)(p->frequency_penalty * count + p->presence_penalty);
      s->scratch[t] = v;
    }
  }
  for (int i = 0; i < p->n_bias; i++) s->scratch[p->bias_ids[i]] += p->bias_values[i];
}

static void divide(float *dst, const float *src, int n, float t) {
  const v128_t vt = wasm_f32x4_splat(t);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_div(wasm_v128_load(src + i), vt));
  for (; i < n; i++) dst[i] = src[i] / t;
}

static int is_greedy(const xl_sample_params *p) { return p->temperature < XL_GREEDY_TEMPERATURE; }

// The processed row: the raw row itself when no processor changes it, else scratch.
static const float *process(xl_sampler *s, const float *row, const xl_sample_params *p) {
  const int edits = p->n_bias > 0 || p->repetition_penalty != 1.0 ||
                    (p->n_output > 0 && (p->presence_penalty != 0 || p->frequency_penalty != 0));
  const int scale = !is_greedy(p) && p->temperature != 1.0;
  if (!edits && !scale) return row;
  const float *src = row;
  if (edits) {
    memcpy(s->scratch, row, (size_t)s->vocab * sizeof(float));
    apply_penalties(s, row, p);
    src = s->scratch;
  }
  if (scale) divide(s->scratch, src, s->vocab, (float)p->temperature);
  return s->scratch;
}

// First index holding the maximum (ties to the lower id).
static int32_t first_index_of(const float *row, int vocab, float value) {
  const v128_t v = wasm_f32x4_splat(value);
  int i = 0;
  for (; i + 4 <= vocab; i += 4) {
    if (wasm_v128_any_true(wasm_f32x4_eq(wasm_v128_load(row + i), v))) break;
  }
  for (; i < vocab; i++) {
    if (row[i] == value) return i;
  }
  return -1;
}

static int check_params(const xl_sampler *s, const xl_sample_params *p) {
  if (!valid_ids(p->prompt_ids, p->n_prompt, s->vocab) || !valid_ids(p->output_ids, p->n_output, s->vocab) ||
      !valid_ids(p->bias_ids, p->n_bias, s->vocab)) {
    return XL_ERR_BAD_TOKEN;
  }
  if (p->n_prompt < 0 || p->n_output < 0 || p->n_bias < 0 || !(p->repetition_penalty > 0)) return XL_ERR_BAD_ARG;
  return XL_OK;
}

// Processes and truncates `row`, leaving the kept set in the sampler's buffers.
static int prepare(xl_sampler *s, const float *row, const xl_sample_params *p, const float **proc_out,
                   xl_kept_set *kept) {
  const int status = check_params(s, p);
  if (status < 0) return status;
  const float *proc = process(s, row, p);
  const float max = xl_row_max(proc, s->vocab);
  if (max != max) return XL_ERR_NAN;
  if (max == INFINITY) return XL_ERR_POS_INF;
  if (max == -INFINITY) return XL_ERR_ALL_MASKED;
  *proc_out = proc;
  if (is_greedy(p)) {
    kept->mode = XL_KEEP_ONE;
    kept->token = first_index_of(proc, s->vocab, max);
    kept->max = max;
    kept->mass = 1;
    return XL_OK;
  }
  xl_truncate(s, proc, max, p, kept);
  return XL_OK;
}

static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t xoshiro128ss(uint32_t *st) {
  const uint32_t result = rotl(st[1] * 5, 7) * 9;
  const uint32_t t = st[1] << 9;
  st[2] ^= st[0];
  st[3] ^= st[1];
  st[1] ^= st[2];
  st[0] ^= st[3];
  st[2] ^= t;
  st[3] = rotl(st[3], 11);
  return result;
}

// Uniform double in [0, 1) from 53 random bits.
static double uniform(uint32_t *st) {
  const uint32_t a = xoshiro128ss(st) >> 5, b = xoshiro128ss(st) >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

// The first kept token, in id order, at which the cumulative weight exceeds a uniform
// draw times the kept mass. Whole blocks are skipped by their kept mass.
static int32_t draw(const xl_sampler *s, const xl_kept_set *kept, uint32_t *rng) {
  if (kept->mode == XL_KEEP_ONE) return kept->token;
  const double target = uniform(rng) * kept->mass;
  const int vocab = s->vocab, cut = kept->cut;
  const float min_p = kept->min_p;
  double cum = 0;
  int start = 0;
  for (; start + XL_BLOCK <= vocab; start += XL_BLOCK) {
    v128_t acc = wasm_f32x4_splat(0);
    for (int i = start; i < start + XL_BLOCK; i += 8) acc = wasm_f32x4_add(acc, xl_kept_weights8(s, i, cut, min_p));
    const double block = xl_hsum4(acc);
    if (cum + block <= target) {
      cum += block;
      continue;
    }
    for (int t = start; t < start + XL_BLOCK; t++) {
      if (!xl_is_kept(s, t, cut, min_p)) continue;
      cum += s->weights[t];
      if (cum > target) return t;
    }
  }
  for (int t = start; t < vocab; t++) {
    if (!xl_is_kept(s, t, cut, min_p)) continue;
    cum += s->weights[t];
    if (cum > target) return t;
  }
  // Rounding left target at the very end of the mass: the last kept token that can be drawn.
  for (int t = vocab - 1; t >= 0; t--) {
    if (xl_is_kept(s, t, cut, min_p) && s->weights[t] > 0) return t;
  }
  return -1;
}

static int check_row(const xl_sampler *s, int row) {
  return (row < 0 || row >= s->max_rows) ? XL_ERR_BAD_ARG : XL_OK;
}

int xl_sampler_sample(xl_sampler *s, int row, xl_sample_params *params, int top_n, int with_logprob,
                      xl_sample_result *out) {
  if (check_row(s, row) < 0 || top_n < 0 || top_n > XL_MAX_TOP_N) return XL_ERR_BAD_ARG;
  const float *logits = s->logits + (size_t)row * (size_t)s->vocab;
  const float *proc;
  xl_kept_set kept;
  int status = prepare(s, logits, params, &proc, &kept);
  if (status < 0) return status;
  // Without logprobs the normaliser is not needed (prepare() already refused NaN/+inf rows).
  const int with_stats = with_logprob || top_n > 0;
  double stats[2] = {0, 0};
  if (with_stats && proc == logits && kept.mode == XL_KEEP_WEIGHTS) {
    // No processor changed the row: truncation already summed its softmax normaliser.
    stats[0] = kept.max;
    stats[1] = log(kept.total);
  } else if (with_stats) {
    status = xl_row_stats(logits, s->vocab, stats);
    if (status < 0) return status;
  }
  const int32_t token = draw(s, &kept, params->rng);
  if (token < 0) return XL_ERR_ALL_MASKED;
  out->token = token;
  out->logprob = with_stats ? ((double)logits[token] - stats[0]) - stats[1] : NAN;
  float values[XL_MAX_TOP_N];
  out->n_top = top_n > 0 ? xl_top_values(logits, s->vocab, top_n, out->top_ids, values) : 0;
  for (int j = 0; j < out->n_top; j++) out->top_logprobs[j] = ((double)values[j] - stats[0]) - stats[1];
  return XL_OK;
}

int xl_sampler_kept(xl_sampler *s, int row, const xl_sample_params *params, int32_t *out_ids, double *out_probs) {
  if (check_row(s, row) < 0) return XL_ERR_BAD_ARG;
  const float *logits = s->logits + (size_t)row * (size_t)s->vocab;
  const float *proc;
  xl_kept_set kept;
  const int status = prepare(s, logits, params, &proc, &kept);
  if (status < 0) return status;
  if (kept.mode == XL_KEEP_ONE) {
    out_ids[0] = kept.token;
    out_probs[0] = 1;
    return 1;
  }
  // Tokens kept with weight 0 (underflow) stay in the set, as in the reference.
  int count = 0;
  for (int t = 0; t < s->vocab; t++) {
    if (xl_is_kept(s, t, kept.cut, kept.min_p)) {
      out_ids[count] = t;
      out_probs[count++] = s->weights[t] / kept.mass;
    }
  }
  return count;
}
