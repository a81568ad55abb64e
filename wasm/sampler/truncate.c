// Top-k, top-p and min-p truncation (vLLM's order) without sorting the whole vocabulary:
// candidates above a logit threshold are collected, widening the threshold until they
// provably hold the kept set, then only they are radix-sorted.
#include <float.h>
#include <math.h>
#include <string.h>

#include "sampler_internal.h"
#include "vec_math.h"

// weights[i] = exp(proc[i] - max), zeroed below min_weight; returns their sum.
static double fill_weights(xl_sampler *s, const float *proc, float max, float min_weight) {
  const int vocab = s->vocab;
  const v128_t vmax = wasm_f32x4_splat(max), vmin = wasm_f32x4_splat(min_weight);
  double total = 0;
  int i = 0, block = 0;
  for (; i + XL_BLOCK <= vocab; i += XL_BLOCK, block++) {
    v128_t acc = wasm_f32x4_splat(0);
    for (int j = i; j < i + XL_BLOCK; j += 4) {
      v128_t w = xl_exp4(wasm_f32x4_sub(wasm_v128_load(proc + j), vmax));
      w = wasm_v128_and(w, wasm_f32x4_ge(w, vmin));
      wasm_v128_store(s->weights + j, w);
      acc = wasm_f32x4_add(acc, w);
    }
    s->block_sums[block] = xl_hsum4(acc);
    total += s->block_sums[block];
  }
  if (i < vocab) {
    double tail = 0;
    for (int j = i; j < vocab; j++) {
      float w = xl_exp1(proc[j] - max);
      s->weights[j] = w >= min_weight ? w : 0.0f;
      tail += s->weights[j];
    }
    s->block_sums[block] = tail;
    total += tail;
  }
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

int xl_truncate(xl_sampler *s, const float *proc, float max, const xl_sample_params *p, xl_kept_set *kept) {
  const int vocab = s->vocab;
  const int top_k = (p->top_k > 0 && p->top_k < vocab) ? p->top_k : 0;
  const int use_top_p = p->top_p < 1.0;
  const float min_p = p->min_p > 0 ? (float)p->min_p : 0.0f;

  if (!top_k && !use_top_p) {
    // Only min-p (or nothing): mask the weights, draws walk the block sums.
    kept->mode = XL_KEEP_MASK;
    kept->mass = fill_weights(s, proc, max, min_p);
    return XL_OK;
  }

  const double total = fill_weights(s, proc, max, 0.0f);
  // Widen the threshold until the candidates hold the top-k set, or (top-p alone) a
  // prefix of the sorted order with enough mass; the last step takes every finite logit.
  static const float widths[] = {8.0f, 16.0f, 32.0f, 64.0f};
  int count = 0;
  double mass = 0;
  for (int step = 0; step <= 4; step++) {
    const float lo = step < 4 ? max - widths[step] : -FLT_MAX;
    count = collect(s, proc, lo, &mass);
    if (top_k ? count >= top_k : mass >= p->top_p * total) break;
  }
  sort_candidates(s, proc, count);

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
