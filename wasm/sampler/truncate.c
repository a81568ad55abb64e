// Top-k, top-p and min-p truncation (vLLM's order) without sorting the whole vocabulary:
// a small top-k comes from one threshold scan; otherwise candidates above a logit
// threshold are collected, widening it until they provably hold the kept set, and only
// they are radix-sorted.
#include <float.h>
#include <math.h>
#include <string.h>

#include "sampler_internal.h"
#include "vec_math.h"

// weights[i] = exp(proc[i] - max), zeroed below min_weight; returns their sum and stores
// the sum before zeroing in *full (the softmax normaliser of proc).
static double fill_weights(xl_sampler *s, const float *proc, float max, float min_weight, double *full) {
  const int vocab = s->vocab;
  const v128_t vmax = wasm_f32x4_splat(max), vmin = wasm_f32x4_splat(min_weight);
  double total = 0, unmasked = 0;
  int i = 0, block = 0;
  for (; i + XL_BLOCK <= vocab; i += XL_BLOCK, block++) {
    v128_t acc = wasm_f32x4_splat(0), all = acc;
    for (int j = i; j < i + XL_BLOCK; j += 4) {
      v128_t w = xl_exp4(wasm_f32x4_sub(wasm_v128_load(proc + j), vmax));
      all = wasm_f32x4_add(all, w);
      w = wasm_v128_and(w, wasm_f32x4_ge(w, vmin));
      wasm_v128_store(s->weights + j, w);
      acc = wasm_f32x4_add(acc, w);
    }
    s->block_sums[block] = xl_hsum4(acc);
    total += s->block_sums[block];
    unmasked += xl_hsum4(all);
  }
  if (i < vocab) {
    double tail = 0;
    for (int j = i; j < vocab; j++) {
      float w = xl_exp1(proc[j] - max);
      unmasked += w;
      s->weights[j] = w >= min_weight ? w : 0.0f;
      tail += s->weights[j];
    }
    s->block_sums[block] = tail;
    total += tail;
  }
  *full = unmasked;
  return total;
}

// Appends the ids of tokens with proc >= lo (lo finite, so -inf never enters), in id order.
static int collect(xl_sampler *s, const float *proc, float lo, double *mass) {
  const int vocab = s->vocab;
  const v128_t vlo = wasm_f32x4_splat(lo);
  int32_t *ids = s->cand_ids;
  int count = 0, i = 0;
  double sum = 0;
  for (; i + 16 <= vocab; i += 16) {
    const v128_t a = wasm_f32x4_ge(wasm_v128_load(proc + i), vlo);
    const v128_t b = wasm_f32x4_ge(wasm_v128_load(proc + i + 4), vlo);
    const v128_t c = wasm_f32x4_ge(wasm_v128_load(proc + i + 8), vlo);
    const v128_t d = wasm_f32x4_ge(wasm_v128_load(proc + i + 12), vlo);
    if (!wasm_v128_any_true(wasm_v128_or(wasm_v128_or(a, b), wasm_v128_or(c, d)))) continue;
    for (int j = i; j < i + 16; j++) {
      if (proc[j] >= lo) {
        ids[count++] = j;
        sum += s->weights[j];
      }
    }
  }
  for (; i < vocab; i++) {
    if (proc[i] >= lo) {
      ids[count++] = i;
      sum += s->weights[i];
    }
  }
  *mass = sum;
  return count;
}

// Order-preserving map of a float to uint32, inverted so ascending keys = descending logits.
static inline uint32_t descending_key(float v) {
  v += 0.0f; // -0 and +0 are equal logits: one key
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ~u;
}

// Stable LSD radix sort of the candidates by key; they arrive in id order, so equal
// logits stay in ascending id order.
static void sort_candidates(xl_sampler *s, const float *proc, int count) {
  uint32_t *keys = s->cand_keys, *tmp_keys = s->tmp_keys;
  int32_t *ids = s->cand_ids, *tmp_ids = s->tmp_ids;
  uint32_t hist[4][256];
  memset(hist, 0, sizeof hist);
  for (int j = 0; j < count; j++) {
    const uint32_t k = descending_key(proc[ids[j]]);
    keys[j] = k;
    for (int d = 0; d < 4; d++) hist[d][(k >> (8 * d)) & 255]++;
  }
  for (int d = 0; d < 4; d++) {
    const uint32_t shift = 8 * d;
    if (hist[d][(keys[0] >> shift) & 255] == (uint32_t)count) continue; // one digit value: no-op pass
    uint32_t offset = 0;
    for (int b = 0; b < 256; b++) {
      const uint32_t c = hist[d][b];
      hist[d][b] = offset;
      offset += c;
    }
    for (int j = 0; j < count; j++) {
      const uint32_t pos = hist[d][(keys[j] >> shift) & 255]++;
      tmp_keys[pos] = keys[j];
      tmp_ids[pos] = ids[j];
    }
    uint32_t *swap_keys = keys;
    keys = tmp_keys;
    tmp_keys = swap_keys;
    int32_t *swap_ids = ids;
    ids = tmp_ids;
    tmp_ids = swap_ids;
  }
  if (ids != s->cand_ids) memcpy(s->cand_ids, ids, (size_t)count * sizeof *ids);
}

// Smallest sorted prefix of the first `count` candidates whose mass reaches top_p of the
// given total; at least one token.
static int top_p_prefix(const xl_sampler *s, int count, double top_p, double total) {
  const double target = top_p * total;
  double cum = 0;
  for (int j = 0; j < count; j++) {
    cum += s->weights[s->cand_ids[j]];
    if (cum >= target) return j + 1;
  }
  return count;
}

// Sum of the weights of tokens with proc >= lo (SIMD).
static double mass_at_least(const xl_sampler *s, const float *proc, float lo) {
  const v128_t vlo = wasm_f32x4_splat(lo);
  v128_t acc = wasm_f32x4_splat(0);
  double total = 0;
  int i = 0;
  for (; i + 4 <= s->vocab; i += 4) {
    const v128_t keep = wasm_f32x4_ge(wasm_v128_load(proc + i), vlo);
    acc = wasm_f32x4_add(acc, wasm_v128_and(wasm_v128_load(s->weights + i), keep));
    if ((i & 1023) == 1020) {
      total += xl_hsum4(acc);
      acc = wasm_f32x4_splat(0);
    }
  }
  total += xl_hsum4(acc);
  for (; i < s->vocab; i++) total += proc[i] >= lo ? s->weights[i] : 0;
  return total;
}

// Number of tokens with proc >= lo (SIMD).
static int count_at_least(const float *proc, int vocab, float lo) {
  const v128_t vlo = wasm_f32x4_splat(lo);
  v128_t acc = wasm_i32x4_splat(0);
  int i = 0;
  for (; i + 4 <= vocab; i += 4) acc = wasm_i32x4_sub(acc, wasm_f32x4_ge(wasm_v128_load(proc + i), vlo));
  int count = wasm_i32x4_extract_lane(acc, 0) + wasm_i32x4_extract_lane(acc, 1) + wasm_i32x4_extract_lane(acc, 2) +
              wasm_i32x4_extract_lane(acc, 3);
  for (; i < vocab; i++) count += proc[i] >= lo;
  return count;
}

int xl_truncate(xl_sampler *s, const float *proc, float max, const xl_sample_params *p, xl_kept_set *kept) {
  const int vocab = s->vocab;
  const int top_k = (p->top_k > 0 && p->top_k < vocab) ? p->top_k : 0;
  const int use_top_p = p->top_p < 1.0;
  const float min_p = p->min_p > 0 ? (float)p->min_p : 0.0f;

  if (!top_k && !use_top_p) {
    // Only min-p (or nothing): mask the weights, draws walk the block sums.
    kept->mode = XL_KEEP_MASK;
    kept->mass = fill_weights(s, proc, max, min_p, &kept->full_mass);
    return XL_OK;
  }

  const double total = fill_weights(s, proc, max, 0.0f, &kept->full_mass);
  int count;
  if (top_k && top_k <= XL_MAX_BEAM_K) {
    // Small k: one SIMD threshold scan yields the top-k already sorted (ties to lower id).
    count = xl_top_values(proc, vocab, top_k, s->cand_ids, (float *)s->cand_keys);
    while (count > 0 && proc[s->cand_ids[count - 1]] == -INFINITY) count--;
  } else {
    // Widen a logit threshold until the candidates above it hold the top-k set, or (top-p
    // alone) enough mass; then collect and sort only those.
    const double target = p->top_p * total;
    float lo = -FLT_MAX;
    for (float width = 0.5f; width <= 64.0f; width *= 2) {
      const float t = max - width;
      if (top_k ? count_at_least(proc, vocab, t) >= top_k : mass_at_least(s, proc, t) >= target) {
        lo = t;
        break;
      }
    }
    double mass;
    count = collect(s, proc, lo, &mass);
    sort_candidates(s, proc, count);
  }

  int keep = count;
  double kept_total = total;
  if (top_k && top_k < keep) {
    keep = top_k;
    kept_total = 0;
    for (int j = 0; j < keep; j++) kept_total += s->weights[s->cand_ids[j]];
  }
  if (use_top_p) keep = top_p_prefix(s, keep, p->top_p, kept_total);
  if (min_p > 0) {
    // Drop tokens below min_p times the top probability (weights are relative to it).
    int w = 0;
    for (int j = 0; j < keep; j++) {
      if (s->weights[s->cand_ids[j]] >= min_p) s->cand_ids[w++] = s->cand_ids[j];
    }
    keep = w;
  }
  double kept_mass = 0;
  for (int j = 0; j < keep; j++) kept_mass += s->weights[s->cand_ids[j]];
  kept->mode = XL_KEEP_LIST;
  kept->count = keep;
  kept->mass = kept_mass;
  return XL_OK;
}
