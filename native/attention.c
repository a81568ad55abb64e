// Grouped-query attention (attention.h) with AVX-512: flash-attention's online softmax over
// blocks of 16 keys, each block transposed once and then used by every query of a task — the
// query heads of one key-value head, for up to QUERY_TOKENS tokens of one row.
#include "attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_BLOCK = 16, QUERY_GROUP = 4, QUERY_VECTORS = 128, MAX_HEAD_DIM = 256 };

#if !defined(__x86_64__)
int attention_supported(const AttentionShape *shape) { return (void)shape, 0; }
int attention_run(const AttentionShape *shape, const AttentionBlock *block, ParallelFor parallel_for, void *context) {
  return (void)shape, (void)block, (void)parallel_for, (void)context, -1;
}
#else
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f")))
// The group loops must be unrolled for their accumulators to live in registers, whatever -O says.
#define UNROLL _Pragma("GCC unroll 4")

int attention_supported(const AttentionShape *shape) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && shape->head_dim % 16 == 0 && shape->head_dim <= MAX_HEAD_DIM && shape->kv_heads > 0 &&
         shape->heads % shape->kv_heads == 0;
}

// e^x for x ≤ 0 (−∞ and anything below −87 give 0): 2^n · p(r), r = x − n·ln 2, |r| ≤ ln 2 / 2,
// p the degree-6 Taylor polynomial (relative error under 2e-7).
KERNEL static inline __m512 exp_nonpositive(__m512 x) {
  const __m512 low = _mm512_set1_ps(-87.0f);
  __mmask16 tiny = _mm512_cmp_ps_mask(x, low, _CMP_LT_OQ);
  x = _mm512_max_ps(x, low);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps((__mmask16)~tiny, _mm512_scalef_ps(p, n));
}

// The halves rotation of one head: x[j], x[j + D/2] by the angle whose cos and sin are c[j], s[j].
static void rotate(float *x, const float *c, const float *s, int64_t half) {
  for (int64_t j = 0; j < half; j++) {
    float a = x[j], b = x[j + half];
    x[j] = a * c[j] - b * s[j];
    x[j + half] = b * c[j] + a * s[j];
  }
}

typedef struct {
  const AttentionShape *shape;
  const AttentionBlock *block;
  float *queries;  // [rows · seq][heads · head_dim]: q, rotated
  int64_t query_tokens, blocks_per_row;  // tokens per task; tasks per (row, kv head)
  int failed;
} Job;

static int64_t past_of(const AttentionBlock *b, int64_t row) {
  int64_t past = b->totals[row] - b->seq;
  return past > 0 ? past : 0;
}

// Rotates row `row`'s new queries into job->queries and writes its new keys and values into the cache.
static void prepare_row(void *data, size_t index) {
  Job *job = data;
  const AttentionShape *s = job->shape;
  const AttentionBlock *b = job->block;
  const int64_t row = (int64_t)index, d = s->head_dim, half = d / 2, past = past_of(b, row), count = b->totals[row] - past;
  for (int64_t i = 0; i < count; i++) {
    const int64_t t = row * b->seq + i, at = past + i, position = b->positions ? b->positions[t] : at;
    if (at >= b->capacity || (s->cos && (position < 0 || position >= s->rotary_positions))) {
      job->failed = -2;
      return;
    }
    float *q = job->queries + t * s->heads * d;
    memcpy(q, b->q + t * b->q_stride, (size_t)(s->heads * d) * sizeof *q);
    const float *c = s->cos ? s->cos + position * half : NULL, *sn = s->cos ? s->sin + position * half : NULL;
    for (int64_t h = 0; c && h < s->heads; h++) rotate(q + h * d, c, sn, half);
    for (int64_t g = 0; g < s->kv_heads; g++) {
      const size_t slot = (size_t)(((row * s->kv_heads + g) * b->capacity + at) * d);
      float *key = b->key_cache + slot;
      memcpy(key, b->k + t * b->kv_stride + g * d, (size_t)d * sizeof *key);
      if (c) rotate(key, c, sn, half);
      memcpy(b->value_cache + slot, b->v + t * b->kv_stride + g * d, (size_t)d * sizeof *key);
    }
  }
}

// Keys [j0, j0 + KEY_BLOCK) of one head, transposed: kt[dim][key].
KERNEL static void transpose_keys(const float *keys, int64_t d, int64_t valid, float *kt) {
  for (int64_t k = 0; k < KEY_BLOCK; k++)
    for (int64_t x = 0; x < d; x++) kt[x * KEY_BLOCK + k] = k < valid ? keys[k * d + x] : 0.0f;
}

// The scores of one query against keys [0, valid) of a block (row layout, no transpose): a
// product vector per key, then the 16 vectors summed across their lanes into one, key k in
// lane k. Cheaper than transposing the block when few queries share it (a decode step).
KERNEL static __m512 block_scores(const float *query, const float *keys, int64_t d, int64_t valid) {
  __m512 part[KEY_BLOCK];
  for (int64_t k = 0; k < KEY_BLOCK; k++) {
    __m512 sum = _mm512_setzero_ps();
    if (k < valid)
      for (int64_t x = 0; x < d; x += 16) sum = _mm512_fmadd_ps(_mm512_loadu_ps(query + x), _mm512_loadu_ps(keys + k * d + x), sum);
    part[k] = sum;
  }
  // Each level halves the vectors: within 128-bit lanes, then across them.
  __m512 t[8], u[4];
  for (int i = 0; i < 8; i++) t[i] = _mm512_add_ps(_mm512_unpacklo_ps(part[2 * i], part[2 * i + 1]), _mm512_unpackhi_ps(part[2 * i], part[2 * i + 1]));
  for (int i = 0; i < 4; i++) {
    __m512d a = _mm512_castps_pd(t[2 * i]), b = _mm512_castps_pd(t[2 * i + 1]);
    u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  __m512 w0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
  __m512 w1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xDD));
}

// One task: the query heads of kv head g for tokens [i0, i0 + n) of row `row`.
KERNEL static void attend(void *data, size_t index) {
  Job *job = data;
  const AttentionShape *s = job->shape;
  const AttentionBlock *b = job->block;
  const int64_t d = s->head_dim, vectors = d / 16, group = s->heads / s->kv_heads;
  const int64_t row = (int64_t)index / (s->kv_heads * job->blocks_per_row), rest = (int64_t)index % (s->kv_heads * job->blocks_per_row);
  const int64_t g = rest / job->blocks_per_row, i0 = rest % job->blocks_per_row * job->query_tokens;
  const int64_t past = past_of(b, row), count = b->totals[row] - past;
  const int64_t n = i0 >= count ? 0 : (count - i0 < job->query_tokens ? count - i0 : job->query_tokens);
  // Padding tokens of a short row get zeros.
  for (int64_t i = i0 + n; i < i0 + job->query_tokens && i < b->seq; i++)
    for (int64_t h = 0; h < group; h++) memset(b->out + (row * b->seq + i) * b->out_stride + (g * group + h) * d, 0, (size_t)d * sizeof(float));
  if (n == 0) return;
  const int64_t queries = n * group;  // query q = token (i0 + q / group), head g · group + q % group
  // Queries go QUERY_GROUP at a time, sharing each key and value vector they load; a group's
  // missing members are a zero query that sees no key.
  const int64_t padded = (queries + QUERY_GROUP - 1) / QUERY_GROUP * QUERY_GROUP;
  const size_t floats = (size_t)(d * KEY_BLOCK + padded * d + 2 * padded + d);
  float *scratch = aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);
  if (!scratch) {
    job->failed = -1;
    return;
  }
  float *kt = scratch, *acc = kt + d * KEY_BLOCK, *maxima = acc + padded * d, *sums = maxima + padded, *zero = sums + padded;
  memset(acc, 0, (size_t)(padded * d) * sizeof *acc);
  memset(zero, 0, (size_t)d * sizeof *zero);
  for (int64_t q = 0; q < padded; q++) maxima[q] = -INFINITY, sums[q] = 0;
  const float *keys = b->key_cache + (size_t)((row * s->kv_heads + g) * b->capacity * d);
  const float *values = b->value_cache + (size_t)((row * s->kv_heads + g) * b->capacity * d);
  const int64_t last_key = past + i0 + n;  // keys [0, last_key) are seen by the block's last token
  const __m512 scale = _mm512_set1_ps(s->scale);
  // Many queries share each block: transposed once, it serves them all without lane sums.
  const int transposed = queries >= KEY_BLOCK;
  for (int64_t j0 = 0; j0 < last_key; j0 += KEY_BLOCK) {
    const int64_t valid = last_key - j0 < KEY_BLOCK ? last_key - j0 : KEY_BLOCK;
    if (transposed) transpose_keys(keys + j0 * d, d, valid, kt);
    for (int64_t q0 = 0; q0 < queries; q0 += QUERY_GROUP) {
      const float *query[QUERY_GROUP];
      int64_t seen[QUERY_GROUP], used = 0;
      UNROLL for (int r = 0; r < QUERY_GROUP; r++) {
        const int64_t q = q0 + r, token = i0 + q / group;
        seen[r] = q < queries ? past + token + 1 - j0 : 0;  // keys of this block the query may see
        if (seen[r] > valid) seen[r] = valid;
        if (seen[r] > used) used = seen[r];
        query[r] = q < queries ? job->queries + (row * b->seq + token) * s->heads * d + (g * group + q % group) * d : zero;
      }
      if (used <= 0) continue;
      __m512 score[QUERY_GROUP];
      if (transposed) {
        // Even and odd dimensions in separate chains: eight multiply-adds in flight.
        __m512 odd[QUERY_GROUP];
        UNROLL for (int r = 0; r < QUERY_GROUP; r++) score[r] = odd[r] = _mm512_setzero_ps();
        for (int64_t x = 0; x < d; x += 2) {
          const __m512 key = _mm512_load_ps(kt + x * KEY_BLOCK), next = _mm512_load_ps(kt + (x + 1) * KEY_BLOCK);
          UNROLL for (int r = 0; r < QUERY_GROUP; r++) {
            score[r] = _mm512_fmadd_ps(_mm512_set1_ps(query[r][x]), key, score[r]);
            odd[r] = _mm512_fmadd_ps(_mm512_set1_ps(query[r][x + 1]), next, odd[r]);
          }
        }
        UNROLL for (int r = 0; r < QUERY_GROUP; r++) score[r] = _mm512_add_ps(score[r], odd[r]);
      } else {
        UNROLL for (int r = 0; r < QUERY_GROUP; r++) score[r] = seen[r] > 0 ? block_scores(query[r], keys + j0 * d, d, valid) : _mm512_setzero_ps();
      }
      // Online softmax: each query's weights for this block, and how much its sum so far shrinks.
      float weights[QUERY_GROUP][KEY_BLOCK] __attribute__((aligned(64)));
      __m512 correction[QUERY_GROUP];
      UNROLL for (int r = 0; r < QUERY_GROUP; r++) {
        if (seen[r] <= 0) {
          _mm512_store_ps(weights[r], _mm512_setzero_ps());
          correction[r] = _mm512_set1_ps(1.0f);
          continue;
        }
        const __mmask16 mask = (__mmask16)((1u << seen[r]) - 1);
        const __m512 scaled = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), mask, _mm512_mul_ps(score[r], scale));
        const float top = _mm512_reduce_max_ps(scaled), previous = maxima[q0 + r];
        const float next = top > previous ? top : previous;
        const __m512 p = exp_nonpositive(_mm512_sub_ps(scaled, _mm512_set1_ps(next)));
        const float shrink = previous == -INFINITY ? 0.0f : expf(previous - next);
        maxima[q0 + r] = next;
        sums[q0 + r] = sums[q0 + r] * shrink + _mm512_reduce_add_ps(p);
        _mm512_store_ps(weights[r], p);
        correction[r] = _mm512_set1_ps(shrink);
      }
      // acc = acc · correction + Σ_k weight_k · value_k, four 16-wide slices of the head at a
      // time: each value slice loaded once for the group's queries.
      for (int64_t v0 = 0; v0 < vectors; v0 += 4) {
        const int64_t span = vectors - v0 < 4 ? vectors - v0 : 4;
        __m512 a[QUERY_GROUP][4];
        UNROLL for (int r = 0; r < QUERY_GROUP; r++) UNROLL for (int j = 0; j < 4; j++) {
          a[r][j] = j < span ? _mm512_mul_ps(_mm512_load_ps(acc + (q0 + r) * d + 16 * (v0 + j)), correction[r]) : _mm512_setzero_ps();
        }
        for (int64_t k = 0; k < used; k++) {
          const float *value = values + (j0 + k) * d + 16 * v0;
          __m512 slice[4];
          UNROLL for (int j = 0; j < 4; j++) slice[j] = j < span ? _mm512_loadu_ps(value + 16 * j) : _mm512_setzero_ps();
          UNROLL for (int r = 0; r < QUERY_GROUP; r++) {
            const __m512 w = _mm512_set1_ps(weights[r][k]);
            UNROLL for (int j = 0; j < 4; j++) a[r][j] = _mm512_fmadd_ps(w, slice[j], a[r][j]);
          }
        }
        UNROLL for (int r = 0; r < QUERY_GROUP; r++) UNROLL for (int j = 0; j < 4; j++) {
          if (j < span) _mm512_store_ps(acc + (q0 + r) * d + 16 * (v0 + j), a[r][j]);
        }
      }
    }
  }
  for (int64_t q = 0; q < queries; q++) {
    const int64_t token = i0 + q / group;
    float *out = b->out + (row * b->seq + token) * b->out_stride + (g * group + q % group) * d;
    const __m512 inverse = _mm512_set1_ps(1.0f / sums[q]);
    for (int64_t v = 0; v < vectors; v++) _mm512_storeu_ps(out + 16 * v, _mm512_mul_ps(_mm512_load_ps(acc + q * d + 16 * v), inverse));
  }
  free(scratch);
}

int attention_run(const AttentionShape *shape, const AttentionBlock *block, ParallelFor parallel_for, void *context) {
  const int64_t group = shape->heads / shape->kv_heads;
  Job job = {.shape = shape, .block = block};
  job.query_tokens = QUERY_VECTORS / group > 0 ? QUERY_VECTORS / group : 1;
  if (job.query_tokens > block->seq) job.query_tokens = block->seq;
  job.blocks_per_row = (block->seq + job.query_tokens - 1) / job.query_tokens;
  job.queries = malloc((size_t)(block->rows * block->seq * shape->heads * shape->head_dim) * sizeof(float));
  if (!job.queries) return -1;
  parallel_for(context, prepare_row, (size_t)block->rows, &job);
  if (!job.failed) parallel_for(context, attend, (size_t)(block->rows * shape->kv_heads * job.blocks_per_row), &job);
  free(job.queries);
  return job.failed;
}
#endif
