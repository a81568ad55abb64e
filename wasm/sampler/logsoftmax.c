// Raw log-softmax statistics and top-N selection over one logit row.
#include <limits.h>
#include <math.h>

#include "sampler.h"
#include "vec_math.h"

int xl_row_stats(const float *row, int vocab, double *out_max_logsum) {
  if (vocab < 1) return XL_ERR_EMPTY_VOCAB;
  const float max = xl_row_max(row, vocab);
  if (max != max) return XL_ERR_NAN;
  if (max == INFINITY) return XL_ERR_POS_INF;
  if (max == -INFINITY) return XL_ERR_ALL_MASKED;
  // Sum exp in float blocks of 256, then in double, so 160k terms keep ~1e-7 relative error.
  const v128_t vmax = wasm_f32x4_splat(max);
  double sum = 0;
  int i = 0;
  while (i + 16 <= vocab) {
    const int end = (i + 256 <= vocab) ? i + 256 : vocab - (vocab - i) % 16;
    v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (; i < end; i += 16) {
      s0 = wasm_f32x4_add(s0, xl_exp4(wasm_f32x4_sub(wasm_v128_load(row + i), vmax)));
      s1 = wasm_f32x4_add(s1, xl_exp4(wasm_f32x4_sub(wasm_v128_load(row + i + 4), vmax)));
      s2 = wasm_f32x4_add(s2, xl_exp4(wasm_f32x4_sub(wasm_v128_load(row + i + 8), vmax)));
      s3 = wasm_f32x4_add(s3, xl_exp4(wasm_f32x4_sub(wasm_v128_load(row + i + 12), vmax)));
    }
    sum += xl_hsum4(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
  }
  for (; i < vocab; i++) sum += xl_exp1(row[i] - max);
  out_max_logsum[0] = max;
  out_max_logsum[1] = log(sum);
  return XL_OK;
}

// Inserts (id, v) into the sorted top list; ids arrive in increasing order, so an equal
// value goes after the ones already there (ties to the lower id).
static inline void insert_top(int32_t *ids, float *values, int *count, int n, int32_t id, float v) {
  int pos = *count < n ? *count : n - 1;
  while (pos > 0 && values[pos - 1] < v) {
    values[pos] = values[pos - 1];
    ids[pos] = ids[pos - 1];
    pos--;
  }
  values[pos] = v;
  ids[pos] = id;
  if (*count < n) (*count)++;
}

int xl_top_values_within(const float *row, int vocab, int n, int max_inserts, int32_t *ids, float *values) {
  if (vocab < 1) return XL_ERR_EMPTY_VOCAB;
  if (n < 1) return XL_ERR_BAD_ARG;
  int count = 0, i = 0;
  for (; i < vocab && count < n; i++) insert_top(ids, values, &count, n, i, row[i]);
  if (count < n) return count;
  // After the list is full only values above the current n-th can enter: test 16 at a time
  // (pmax is one instruction; callers have rejected NaN rows).
  float floor_value = values[n - 1];
  for (; i + 16 <= vocab; i += 16) {
    const v128_t a = wasm_v128_load(row + i), b = wasm_v128_load(row + i + 4);
    const v128_t c = wasm_v128_load(row + i + 8), d = wasm_v128_load(row + i + 12);
    const v128_t m = wasm_f32x4_pmax(wasm_f32x4_pmax(a, b), wasm_f32x4_pmax(c, d));
    if (!wasm_v128_any_true(wasm_f32x4_gt(m, wasm_f32x4_splat(floor_value)))) continue;
    for (int j = i; j < i + 16; j++) {
      if (row[j] > floor_value) {
        if (max_inserts-- == 0) return 0;
        insert_top(ids, values, &count, n, j, row[j]);
        floor_value = values[n - 1];
      }
    }
  }
  for (; i < vocab; i++) {
    if (row[i] > floor_value) {
      if (max_inserts-- == 0) return 0;
      insert_top(ids, values, &count, n, i, row[i]);
      floor_value = values[n - 1];
    }
  }
  return count;
}

int xl_top_values(const float *row, int vocab, int n, int32_t *ids, float *values) {
  return xl_top_values_within(row, vocab, n, INT_MAX, ids, values);
}

int xl_log_softmax_top_n(const float *row, int vocab, int n, int32_t *out_ids, double *out_logprobs) {
  if (n < 0 || n > XL_MAX_TOP_N) return XL_ERR_BAD_ARG;
  double stats[2];
  const int status = xl_row_stats(row, vocab, stats);
  if (status < 0) return status;
  if (n == 0) return 0;
  float values[XL_MAX_TOP_N];
  const int count = xl_top_values(row, vocab, n, out_ids, values);
  for (int j = 0; j < count; j++) out_logprobs[j] = ((double)values[j] - stats[0]) - stats[1];
  return count;
}
