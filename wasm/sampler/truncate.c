// Top-k, top-p and min-p truncation (vLLM's order) without sorting the kept set.
//
// One pass computes each token's weight exp(proc - max) and its bucket, round(16 (max -
// proc)) clamped, plus one: a function of the logit that never increases as the logit
// grows, so tokens in a lower bucket come first in the sorted order (logit descending,
// ties to the lower id). Histograms of tokens and weight per bucket locate the bucket in
// which top-k's count or top-p's mass is reached; only that bucket is sorted. The kept set
// is every token of the lower buckets plus a prefix of the boundary bucket, relabelled
// XL_BUCKET_KEPT, and the draw walks it in id order, so nothing else needs an order.
#include <math.h>
#include <string.h>

#include "sampler_internal.h"
#include "vec_math.h"

// Buckets of 4 tokens, given x = proc - max (<= 0, or -inf) and proc. Rounding by adding
// 2^23 keeps the map monotone and costs one instruction.
static inline v128_t bucket4(v128_t x, v128_t proc) {
  const v128_t scaled = wasm_f32x4_pmin(wasm_f32x4_mul(x, wasm_f32x4_splat(-16.0f)), wasm_f32x4_splat(2046.0f));
  const v128_t rounded = wasm_f32x4_add(scaled, wasm_f32x4_splat(8388608.0f));
  const v128_t bucket = wasm_i32x4_sub(rounded, wasm_i32x4_splat(0x4B000000 - XL_BUCKET_FIRST));
  const v128_t masked = wasm_f32x4_eq(proc, wasm_f32x4_splat(-INFINITY));
  return wasm_v128_bitselect(wasm_i32x4_splat(XL_BUCKET_MASKED), bucket, masked);
}

// Weights and buckets of 4 tokens at i (the caller pads a short tail); returns the weights.
static inline v128_t weigh4(xl_sampler *s, v128_t proc, v128_t vmax, int i, v128_t *bucket) {
  const v128_t x = wasm_f32x4_sub(proc, vmax);
  const v128_t w = xl_exp4(x);
  wasm_v128_store(s->weights + i, w);
  *bucket = bucket4(x, proc);
  return w;
}

// Fills weights and buckets; returns the sum of all weights.
static double fill(xl_sampler *s, const float *proc, float max) {
  const int vocab = s->vocab;
  const v128_t vmax = wasm_f32x4_splat(max);
  v128_t acc = wasm_f64x2_splat(0);
  int i = 0;
  for (; i + 8 <= vocab; i += 8) {
    v128_t b0, b1;
    const v128_t w0 = weigh4(s, wasm_v128_load(proc + i), vmax, i, &b0);
    const v128_t w1 = weigh4(s, wasm_v128_load(proc + i + 4), vmax, i + 4, &b1);
    wasm_v128_store(s->buckets + i, wasm_u16x8_narrow_i32x4(b0, b1));
    acc = xl_add_f64x2(acc, wasm_f32x4_add(w0, w1));
  }
  double total = xl_hsum_f64x2(acc);
  for (; i < vocab; i++) {
    const v128_t p = wasm_f32x4_splat(proc[i]), x = wasm_f32x4_sub(p, vmax);
    s->weights[i] = wasm_f32x4_extract_lane(xl_exp4(x), 0);
    s->buckets[i] = (uint16_t)wasm_i32x4_extract_lane(bucket4(x, p), 0);
    total += s->weights[i];
  }
  return total;
}

// Histograms over buckets of the tokens with weight >= floor (0: all): their weight and,
// if `count`, their number. Skipped tokens go to the discard slots; 8 tokens at a time
// get their slots by SIMD, so the scalar loop has no branch.
static void histogram(xl_sampler *s, float floor, int count) {
  memset(s->bucket_tokens, 0, sizeof s->bucket_tokens);
  memset(s->bucket_mass, 0, sizeof s->bucket_mass);
  const v128_t vfloor = wasm_f32x4_splat(floor);
  const v128_t discard = wasm_i16x8_make(XL_BUCKET_COUNT, XL_BUCKET_COUNT + 1, XL_BUCKET_COUNT + 2, XL_BUCKET_COUNT + 3,
                                         XL_BUCKET_COUNT + 4, XL_BUCKET_COUNT + 5, XL_BUCKET_COUNT + 6, XL_BUCKET_COUNT + 7);
  const float *w = s->weights;
  uint16_t slots[8];
  int i = 0;
  for (; i + 8 <= s->vocab; i += 8) {
    const v128_t lo = wasm_f32x4_ge(wasm_v128_load(w + i), vfloor);
    const v128_t hi = wasm_f32x4_ge(wasm_v128_load(w + i + 4), vfloor);
    if (!wasm_v128_any_true(wasm_v128_or(lo, hi))) continue;
    const v128_t taken = wasm_i16x8_narrow_i32x4(lo, hi);
    wasm_v128_store(slots, wasm_v128_bitselect(wasm_v128_load(s->buckets + i), discard, taken));
    for (int j = 0; j < 8; j++) s->bucket_mass[slots[j]] += w[i + j];
    if (count) {
      for (int j = 0; j < 8; j++) s->bucket_tokens[slots[j]]++;
    }
  }
  for (; i < s->vocab; i++) {
    if (w[i] < floor) continue;
    s->bucket_mass[s->buckets[i]] += w[i];
    s->bucket_tokens[s->buckets[i]]++;
  }
}

// Weight below which tokens cannot be in the top-p set: all of them hold less than
// (1 - top_p) of the mass, so the cumulative mass reaches top_p before them. Halved as
// a margin for rounding.
static float top_p_floor(double top_p, double total, int vocab) {
  return (float)(0.5 * (1 - top_p) * total / vocab);
}

// Writes the ids of bucket b to cand_ids in id order; returns how many.
static int collect(xl_sampler *s, int b) {
  const v128_t vb = wasm_i16x8_splat((int16_t)b);
  int count = 0, i = 0;
  for (; i + 8 <= s->vocab; i += 8) {
    if (!wasm_v128_any_true(wasm_i16x8_eq(wasm_v128_load(s->buckets + i), vb))) continue;
    for (int j = i; j < i + 8; j++) {
      if (s->buckets[j] == b) s->cand_ids[count++] = j;
    }
  }
  for (; i < s->vocab; i++) {
    if (s->buckets[i] == b) s->cand_ids[count++] = i;
  }
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

// The tokens of bucket b in sorted order, in cand_ids; returns how many.
static int sorted_bucket(xl_sampler *s, const float *proc, int b) {
  const int count = collect(s, b);
  sort_candidates(s, proc, count);
  return count;
}

// Length of the shortest prefix of the sorted candidates whose weights, added to `above`,
// reach target; all `count` if none does (rounding).
static int prefix_reaching(const xl_sampler *s, int count, double above, double target) {
  double cum = above;
  for (int j = 0; j < count; j++) {
    cum += s->weights[s->cand_ids[j]];
    if (cum >= target) return j + 1;
  }
  return count;
}

// A top-k this small comes from one SIMD threshold scan (xl_top_values) unless the row
// makes it insert too often; the histogram path handles any k.
#define XL_SCAN_TOP_K 64

// The k best tokens, sorted, in cand_ids, and their mass; 0 if the scan gave up.
static int scan_top_k(xl_sampler *s, const float *proc, int k, double *mass) {
  float values[XL_SCAN_TOP_K];
  int count = xl_top_values_within(proc, s->vocab, k, 1024 + s->vocab / 32, s->cand_ids, values);
  while (count > 0 && values[count - 1] == -INFINITY) count--; // -inf is never kept
  double sum = 0;
  for (int j = 0; j < count; j++) sum += s->weights[s->cand_ids[j]];
  *mass = sum;
  return count;
}

// The boundary of the k best tokens: returns their bucket (XL_BUCKET_MASKED when fewer
// than k are finite) with its first *n_boundary sorted tokens in cand_ids and their
// mass, plus that of the buckets before, in *mass.
static int top_k_boundary(xl_sampler *s, const float *proc, int k, int *n_boundary, double *mass) {
  uint32_t seen = 0;
  double above = 0;
  for (int b = XL_BUCKET_FIRST; b <= XL_BUCKET_LAST; b++) {
    if (seen + s->bucket_tokens[b] >= (uint32_t)k) {
      sorted_bucket(s, proc, b);
      *n_boundary = k - (int)seen;
      for (int j = 0; j < *n_boundary; j++) above += s->weights[s->cand_ids[j]];
      *mass = above;
      return b;
    }
    seen += s->bucket_tokens[b];
    above += s->bucket_mass[b];
  }
  return XL_BUCKET_MASKED;
}

// The boundary of top-p within the buckets below `cut` (plus cut's n_boundary sorted
// tokens in cand_ids): the first position in sorted order where the cumulative weight
// reaches target. Returns the new cut and updates *n_boundary; unchanged if the mass never
// reaches target (rounding with top_p near 1).
static int top_p_boundary(xl_sampler *s, const float *proc, int cut, int *n_boundary, double target) {
  double above = 0;
  for (int b = XL_BUCKET_FIRST; b < cut; b++) {
    if (above + s->bucket_mass[b] >= target) {
      *n_boundary = prefix_reaching(s, sorted_bucket(s, proc, b), above, target);
      return b;
    }
    above += s->bucket_mass[b];
  }
  if (cut != XL_BUCKET_MASKED) *n_boundary = prefix_reaching(s, *n_boundary, above, target);
  return cut;
}

// Sum of the kept weights: tokens in a bucket below cut with weight >= min_p.
static double kept_mass(const xl_sampler *s, int cut, float min_p) {
  v128_t acc = wasm_f64x2_splat(0);
  int i = 0;
  for (; i + 8 <= s->vocab; i += 8) acc = xl_add_f64x2(acc, xl_kept_weights8(s, i, cut, min_p));
  double mass = xl_hsum_f64x2(acc);
  for (; i < s->vocab; i++) mass += xl_is_kept(s, i, cut, min_p) ? s->weights[i] : 0;
  return mass;
}

void xl_truncate(xl_sampler *s, const float *proc, float max, const xl_sample_params *p, xl_kept_set *kept) {
  const int top_k = (p->top_k > 0 && p->top_k < s->vocab) ? p->top_k : 0;
  const int use_top_p = p->top_p < 1.0;
  const float min_p = p->min_p > 0 ? (float)p->min_p : 0.0f;
  const double total = fill(s, proc, max);
  int cut = XL_BUCKET_MASKED, n_boundary = 0;
  double top_k_mass = total;
  if (top_k && top_k <= XL_SCAN_TOP_K && (n_boundary = scan_top_k(s, proc, top_k, &top_k_mass)) > 0) {
    cut = XL_BUCKET_FIRST; // the kept tokens are the scanned list alone
  } else if (top_k || use_top_p) {
    // Top-k needs every finite token counted; top-p alone can skip the light ones.
    histogram(s, top_k ? 0.0f : top_p_floor(p->top_p, total, s->vocab), top_k);
    if (top_k) cut = top_k_boundary(s, proc, top_k, &n_boundary, &top_k_mass);
  }
  if (use_top_p) cut = top_p_boundary(s, proc, cut, &n_boundary, p->top_p * top_k_mass);
  double mass = total;
  if (cut != XL_BUCKET_MASKED) {
    // Whole buckets below cut have complete histograms (the top-p floor lies beyond them).
    mass = 0;
    for (int b = XL_BUCKET_FIRST; b < cut; b++) mass += s->bucket_mass[b];
    for (int j = 0; j < n_boundary; j++) {
      mass += s->weights[s->cand_ids[j]];
      s->buckets[s->cand_ids[j]] = XL_BUCKET_KEPT;
    }
  }
  kept->mode = XL_KEEP_WEIGHTS;
  kept->max = max;
  kept->cut = cut;
  kept->min_p = min_p;
  kept->total = total;
  kept->mass = min_p > 0 ? kept_mass(s, cut, min_p) : mass;
}
