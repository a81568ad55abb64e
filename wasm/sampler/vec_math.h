// SIMD helpers shared by the sampler unit: a fast exp accurate to ~2 ulp and row
// reductions. Everything here is static inline so each .c file gets its own copy.
#ifndef XL_VEC_MATH_H
#define XL_VEC_MATH_H

#include <math.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define XL_EXP_MIN (-87.33654f) // below this expf underflows; we return exactly 0

// Cephes-style expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial for e^r, scale by 2^n.
// Inputs below XL_EXP_MIN (including -inf) give 0, so -inf logits get probability 0.
static inline v128_t xl_exp4(v128_t x) {
  const v128_t keep = wasm_f32x4_ge(x, wasm_f32x4_splat(XL_EXP_MIN));
  x = wasm_f32x4_max(x, wasm_f32x4_splat(XL_EXP_MIN));
  x = wasm_f32x4_min(x, wasm_f32x4_splat(88.3762626647949f));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  const v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_v128_and(wasm_f32x4_mul(p, pow2n), keep);
}

static inline float xl_exp1(float x) {
  return wasm_f32x4_extract_lane(xl_exp4(wasm_f32x4_splat(x)), 0);
}

static inline float xl_hmax4(v128_t v) {
  v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

static inline double xl_hsum4(v128_t v) {
  return (double)wasm_f32x4_extract_lane(v, 0) + (double)wasm_f32x4_extract_lane(v, 1) +
         (double)wasm_f32x4_extract_lane(v, 2) + (double)wasm_f32x4_extract_lane(v, 3);
}

// Max of a row. wasm's f32x4.max propagates NaN, so a NaN anywhere gives NaN.
static inline float xl_row_max(const float *row, int len) {
  v128_t m0 = wasm_f32x4_splat(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  int i = 0;
  for (; i + 16 <= len; i += 16) {
    m0 = wasm_f32x4_max(m0, wasm_v128_load(row + i));
    m1 = wasm_f32x4_max(m1, wasm_v128_load(row + i + 4));
    m2 = wasm_f32x4_max(m2, wasm_v128_load(row + i + 8));
    m3 = wasm_f32x4_max(m3, wasm_v128_load(row + i + 12));
  }
  float m = xl_hmax4(wasm_f32x4_max(wasm_f32x4_max(m0, m1), wasm_f32x4_max(m2, m3)));
  for (; i < len; i++) m = (row[i] != row[i] || m != m) ? NAN : (row[i] > m ? row[i] : m);
  return m;
}

#endif
