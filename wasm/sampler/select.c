// Selector matching for /v1/sample: positions of one token id in a tokenized prompt.
#include <wasm_simd128.h>

#include "sampler.h"

int xl_find_id(const int32_t *ids, int n, int32_t id, int32_t *out_positions) {
  if (n < 0) return XL_ERR_BAD_ARG;
  const v128_t target = wasm_i32x4_splat(id);
  int count = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    if (!wasm_v128_any_true(wasm_i32x4_eq(wasm_v128_load(ids + i), target))) continue;
    for (int j = i; j < i + 4; j++) {
      if (ids[j] == id) out_positions[count++] = j;
    }
  }
  for (; i < n; i++) {
    if (ids[i] == id) out_positions[count++] = i;
  }
  return count;
}
