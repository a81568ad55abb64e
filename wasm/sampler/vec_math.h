// SIMD helpers shared by the sampler unit: a fast exp accurate to ~2 ulp and row
// reductions. Everything here is static inline so each .c file gets its own copy.
#ifndef XL_VEC_MATH_H
#define XL_VEC_MATH_H

#include <math.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define XL_EXP_MIN (-87.33654f) // below this expf underflows; we return exactly 0

// expf for x <= 0 (the only inputs here: logits minus their maximum), ~1e-7 relative error:
// x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 minimax polynomial, scaled by 2^n. n is
// rounded by the 1.5 * 2^23 trick rather than f32x4.nearest/trunc_sat, and no clamps: both
// are several instructions each in V8's lowering. Inputs below XL_EXP_MIN (-inf included)
// give 0, so -inf logits get probability 0.
static inline v128_t xl_exp4(v128_t x) {
  const v128_t keep = wasm_f32x4_ge(x, wasm_f32x4_splat(XL_EXP_MIN));
  const v128_t magic = wasm_f32x4_splat(12582912.0f);
  const v128_t shifted = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), magic);
  const v128_t n = wasm_f32x4_sub(shifted, magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.381461275741458e-3f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.368710055947304e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.166838899254799e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.666652113199234e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.999999403953552e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  // The low bits of `shifted` hold n; shifted into the exponent field they give 2^n.
  const v128_t pow2n = wasm_i32x4_add(wasm_i32x4_shl(shifted, 23), wasm_i32x4_splat(127 << 23));
  return wasm_v128_and(wasm_f32x4_mul(p, pow2n), keep);
}

static inline float xl_exp1(float x) {
  return wasm_f32x4_extract_lane(xl_exp4(wasm_f32x4_splat(x)), 0);
}

static inline float xl_hmax4(v128_t v) {
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

static inline double xl_hsum4(v128_t v) {
  return (double)wasm_f32x4_extract_lane(v, 0) + (double)wasm_f32x4_extract_lane(v, 1) +
         (double)wasm_f32x4_extract_lane(v, 2) + (double)wasm_f32x4_extract_lane(v, 3);
}

// acc (f64x2) + the 4 floats of v in double: sums of many weights stay exact to ~1e-15
// relative, so top-p cuts agree with a double reference up to the weights' own rounding.
static inline v128_t xl_add_f64x2(v128_t acc, v128_t v) {
  const v128_t low = wasm_f64x2_promote_low_f32x4(v);
  const v128_t high = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3));
  return wasm_f64x2_add(acc, wasm_f64x2_add(low, high));
}

static inline double xl_hsum_f64x2(v128_t v) {
  return wasm_f64x2_extract_lane(v, 0) + wasm_f64x2_extract_lane(v, 1);
}

// Max of a row, or NaN if the row holds a NaN. f32x4.pmax is one instruction (f32x4.max
// is several, for its NaN rule), so NaNs are caught by a separate x != x mask.
static inline float xl_row_max(const float *row, int len) {
  v128_t m0 = wasm_f32x4_splat(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  v128_t nan = wasm_i32x4_splat(0);
  int i = 0;
  for (; i + 16 <= len; i += 16) {
    const v128_t a = wasm_v128_load(row + i), b = wasm_v128_load(row + i + 4);
    const v128_t c = wasm_v128_load(row + i + 8), d = wasm_v128_load(row + i + 12);
    m0 = wasm_f32x4_pmax(m0, a);
    m1 = wasm_f32x4_pmax(m1, b);
    m2 = wasm_f32x4_pmax(m2, c);
    m3 = wasm_f32x4_pmax(m3, d);
    nan = wasm_v128_or(nan, wasm_v128_or(wasm_v128_or(wasm_f32x4_ne(a, a), wasm_f32x4_ne(b, b)),
                                         wasm_v128_or(wasm_f32x4_ne(c, c), wasm_f32x4_ne(d, d))));
  }
  float m = xl_hmax4(wasm_f32x4_pmax(wasm_f32x4_pmax(m0, m1), wasm_f32x4_pmax(m2, m3)));
  if (wasm_v128_any_true(nan)) return NAN;
  for (; i < len; i++) {
    if (row[i] != row[i]) return NAN;
    if (row[i] > m) m = row[i];
  }
  return m;
}

#endif
