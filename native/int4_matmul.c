// The int4 × int8 matrix product behind our MatMulNBits kernel (int4_matmul.h).
//
// Each row of X is quantized per block of 32 to int8 with its own scale (max |x| / 127), as
// ONNX Runtime does at accuracy_level 4 and llama.cpp does for q8_0 activations; the products
// of 4 int8 × 4-bit pairs are summed into int32 by one VNNI lane (vpdpbusd), and each block's
// int32 sum becomes float once, times both scales. Two paths:
//
// - Few rows (decode): the weight is read in its stored layout, four blocks (64 bytes) a load,
//   split into its low and high nibbles in registers; a lane sums 4 products of one block, so X
//   is laid out to match (the even k of four blocks, then their odd k). Memory-bound: every
//   weight byte is read once per step, or once per 4 rows past 4 (up to 16 rows, 16 streams
//   decoding, where this still beats unpacking panels: 1.12× the 16-stream tok/s of 8 rows max).
// - Many rows (prefill): 48 columns of the weight are first unpacked into a panel of int8
//   (w - zero point) laid out so that one 64-byte vector holds 4 consecutive k of 16 columns;
//   a row's 4 int8 values, broadcast, multiply 16 columns at once. A 4-row × 48-column tile
//   keeps 12 int32 and 12 float accumulators in registers; the panel (up to ~300 KB) stays in
//   L2 while every row goes by. Compute-bound: this is where MLAS's generic block loop spends
//   most of a prefill.
//
// X as unsigned (q + 128) × W as signed is what vpdpbusd multiplies; the 128 · Σw it adds is
// taken back by starting each block's sum at -128 · Σw (per column, computed while packing).
#include "int4_matmul.h"

#if !defined(__x86_64__)
// Other CPUs keep ONNX Runtime's own kernel.
int int4_matmul_supported(void) { return 0; }
int int4_matmul(const Int4Weight *w, const float *x, float *y, int64_t m, ParallelFor parallel_for, void *context) {
  (void)w, (void)x, (void)y, (void)m, (void)parallel_for, (void)context;
  return -1;
}
#else
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
// The tile loops must be unrolled for their accumulators to live in registers, whatever -O says.
#define UNROLL _Pragma("GCC unroll 8")

enum {
  PANEL_VECTORS = 3,                        // 16-column vectors per panel
  PANEL_COLUMNS = 16 * PANEL_VECTORS,       // 48
  TILE_ROWS = 4,
  PANEL_BLOCK_BYTES = 8 * PANEL_VECTORS * 64 + 2 * PANEL_VECTORS * 64,  // int8 weights, then sums and scales
  SMALL_ROWS_MAX = 16,                      // up to this many rows (16 streams decoding): the stored-layout path
  CHUNK_ROWS = 256,                         // rows of one many-rows task (its panel is packed once per task)
};

int int4_matmul_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
}

// ---- per-thread scratch memory, grown on demand, freed when the thread ends ----

static pthread_key_t scratch_keys[2];
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

typedef struct {
  void *memory;
  size_t size;
} Scratch;

static void scratch_free(void *p) {
  Scratch *s = p;
  free(s->memory);
  free(s);
}

static void scratch_init(void) {
  pthread_key_create(&scratch_keys[0], scratch_free);
  pthread_key_create(&scratch_keys[1], scratch_free);
}

// 64-byte aligned memory of at least `size` bytes owned by this thread (slot 0: X quantized, 1: a panel).
static void *scratch(int slot, size_t size) {
  pthread_once(&scratch_once, scratch_init);
  Scratch *s = pthread_getspecific(scratch_keys[slot]);
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s || pthread_setspecific(scratch_keys[slot], s) != 0) return free(s), NULL;
  }
  if (s->size < size) {
    free(s->memory);
    size_t rounded = (size + 4095) & ~(size_t)4095;
    s->memory = aligned_alloc(64, rounded);
    s->size = s->memory ? rounded : 0;
  }
  return s->memory;
}

static inline int zero_point(const Int4Weight *w, int64_t n, int64_t b) {
  if (!w->zero_points) return 8;
  uint8_t byte = w->zero_points[n * ((w->blocks + 1) / 2) + b / 2];
  return (b & 1) ? byte >> 4 : byte & 15;
}

// ---- quantizing X ----

// Block b of row x (zero beyond k) quantized to int8: returns the scale; q gets 32 values, *sum their sum.
KERNEL static float quantize_block(const float *x, int64_t k, int64_t b, __m128i q[2], int *sum) {
  int64_t start = b * INT4_BLOCK;
  int64_t count = k - start < INT4_BLOCK ? k - start : INT4_BLOCK;
  __mmask16 m0 = count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
  __mmask16 m1 = count <= 16 ? 0 : count >= 32 ? 0xFFFF : (__mmask16)((1u << (count - 16)) - 1);
  __m512 v0 = _mm512_maskz_loadu_ps(m0, x + start);
  __m512 v1 = _mm512_maskz_loadu_ps(m1, x + start + 16);
  __m512 absmax = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
  float amax = _mm512_reduce_max_ps(absmax);
  float scale = amax / 127.0f;
  __m512 inv = _mm512_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
  __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inv));  // round to nearest even
  __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inv));
  *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
  q[0] = _mm512_cvtsepi32_epi8(i0);
  q[1] = _mm512_cvtsepi32_epi8(i1);
  return scale;
}

// Few-rows layout of one row, per group of four blocks (b0..b3): 128 int8, first the even k
// of b0, b1, b2, b3 (16 each), then their odd k (the order the stored weight unpacks to: the
// low nibbles of 64 bytes, then the high ones); the group's scales as 16 floats, each block's
// over its 4 lanes; and per block scale × Σq, for the zero points.
typedef struct {
  int8_t *values;       // [quads][128]
  float *quad_scales;   // [quads][16]
  float *scaled_sums;   // [blocks rounded up to 16]
} SmallRow;

KERNEL static void quantize_row_small(const float *x, int64_t k, int64_t blocks, SmallRow row) {
  const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  int64_t quads = (blocks + 3) / 4;
  int64_t padded = (blocks + 15) & ~(int64_t)15;
  for (int64_t b = blocks; b < padded; b++) row.scaled_sums[b] = 0;
  for (int64_t g = 0; g < quads; g++) {
    int8_t *out = row.values + g * 128;
    float *scales = row.quad_scales + g * 16;
    for (int h = 0; h < 4; h++) {
      int64_t b = 4 * g + h;
      __m128i evens = _mm_setzero_si128(), odds = _mm_setzero_si128();
      float scale = 0;
      if (b < blocks) {
        __m128i q[2];
        int sum;
        scale = quantize_block(x, k, b, q, &sum);
        row.scaled_sums[b] = scale * (float)sum;
        // k 0..15 → evens in the first 8 bytes, odds in the last 8; the same for k 16..31.
        __m128i lo = _mm_shuffle_epi8(q[0], even), hi = _mm_shuffle_epi8(q[1], even);
        evens = _mm_unpacklo_epi64(lo, hi);
        odds = _mm_unpackhi_epi64(lo, hi);
      }
      _mm_store_si128((__m128i *)(out + 16 * h), evens);
      _mm_store_si128((__m128i *)(out + 64 + 16 * h), odds);
      for (int lane = 0; lane < 4; lane++) scales[4 * h + lane] = scale;
    }
  }
}

// Many-rows layout: per row, blocks × 32 bytes of q + 128 in k order, and a scale per block.
KERNEL static void quantize_row_large(const float *x, int64_t k, int64_t blocks, uint8_t *values, float *scales) {
  const __m128i offset = _mm_set1_epi8((char)0x80);
  for (int64_t b = 0; b < blocks; b++) {
    __m128i q[2];
    int sum;
    scales[b] = quantize_block(x, k, b, q, &sum);
    _mm_store_si128((__m128i *)(values + b * 32), _mm_xor_si128(q[0], offset));
    _mm_store_si128((__m128i *)(values + b * 32 + 16), _mm_xor_si128(q[1], offset));
  }
}

// ---- few rows: the stored layout ----

typedef struct {
  const Int4Weight *w;
  float *y;
  int64_t m;
  SmallRow rows[SMALL_ROWS_MAX];
  int64_t columns_per_task;
} SmallJob;

// Up to four scales (`count`) spread over the group's lanes: [s0 ×4, s1 ×4, s2 ×4, s3 ×4].
KERNEL static inline __m512 quad_lanes(const float *scales, int count) {
  const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  __m512 four = _mm512_castps128_ps512(count == 4 ? _mm_loadu_ps(scales) : _mm_maskz_loadu_ps((__mmask8)((1u << count) - 1), scales));
  return _mm512_permutexvar_ps(spread, four);
}

// Zero points of blocks [b, b + 16) of column n as floats (0 beyond the last block).
KERNEL static inline __m512 zero_points16(const Int4Weight *w, int64_t n, int64_t b) {
  int64_t left = w->blocks - b;
  __mmask16 mask = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
  if (!w->zero_points) return _mm512_maskz_mov_ps(mask, _mm512_set1_ps(8.0f));
  const uint8_t *z = w->zero_points + n * ((w->blocks + 1) / 2) + b / 2;
  __m128i bytes = _mm_maskz_loadu_epi8((__mmask16)((1u << ((left + 1) / 2 < 8 ? (left + 1) / 2 : 8)) - 1), z);
  __m128i lo = _mm_and_si128(bytes, _mm_set1_epi8(15));
  __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(15));
  __m128i ordered = _mm_unpacklo_epi8(lo, hi);
  return _mm512_maskz_cvtepi32_ps(mask, _mm512_cvtepu8_epi32(ordered));
}

// Blocks [4g, 4g + count) of column n for ROWS rows, added into acc: 64 stored bytes become
// their low nibbles (the even k of the four blocks) and high nibbles (the odd k), and both
// multiply into the same lanes, which are each block's.
#define SMALL_QUAD(ROWS, acc, g, count)                                                                                \
  do {                                                                                                                \
    const uint8_t *stored = column + (g) * 64;                                                                        \
    __m512i bytes = (count) == 4 ? _mm512_loadu_si512(stored) : _mm512_maskz_loadu_epi8(((__mmask64)1 << (16 * (count))) - 1, stored); \
    __m512i low = _mm512_and_si512(bytes, nibble), high = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble);     \
    __m512 ws = quad_lanes(scales + 4 * (g), count);                                                                  \
    UNROLL for (int r = 0; r < ROWS; r++) {                                                                           \
      const int8_t *a = rows[r].values + (g) * 128;                                                                   \
      __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), low, _mm512_load_si512(a));                           \
      dot = _mm512_dpbusd_epi32(dot, high, _mm512_load_si512(a + 64));                                                \
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, _mm512_load_ps(rows[r].quad_scales + (g) * 16)), acc[r]); \
    }                                                                                                                 \
  } while (0)

// Column n × rows [r0, r0 + ROWS). The groups of blocks go round CHAINS accumulators, so that
// their multiply-add chains overlap while the column is read in order (which the hardware
// prefetcher follows).
#define DEFINE_SMALL(ROWS, CHAINS)                                                                                     \
  KERNEL static void small_##ROWS(const SmallJob *job, int64_t n, int r0) {                                            \
    const Int4Weight *w = job->w;                                                                                     \
    const int64_t blocks = w->blocks, full = blocks / 4;                                                              \
    const __m512i nibble = _mm512_set1_epi8(15);                                                                      \
    const SmallRow *rows = job->rows + r0;                                                                            \
    const uint8_t *column = w->packed + n * blocks * 16;                                                              \
    const float *scales = w->scales + n * blocks;                                                                     \
    __m512 acc[CHAINS][ROWS];                                                                                         \
    UNROLL for (int c = 0; c < CHAINS; c++) UNROLL for (int r = 0; r < ROWS; r++) acc[c][r] = _mm512_setzero_ps();    \
    int64_t g = 0;                                                                                                    \
    for (; g + CHAINS <= full; g += CHAINS) UNROLL for (int c = 0; c < CHAINS; c++) SMALL_QUAD(ROWS, acc[c], g + c, 4); \
    for (; g < full; g++) SMALL_QUAD(ROWS, acc[0], g, 4);                                                             \
    if (blocks & 3) SMALL_QUAD(ROWS, acc[0], full, (int)(blocks & 3));                                                \
    UNROLL for (int c = 1; c < CHAINS; c++) UNROLL for (int r = 0; r < ROWS; r++) acc[0][r] = _mm512_add_ps(acc[0][r], acc[c][r]); \
    /* Σ_b scale_w · zero point · scale_x · Σq, taken off (the weight was read unsigned). */                           \
    for (int64_t b = 0; b < blocks; b += 16) {                                                                        \
      int64_t left = blocks - b;                                                                                      \
      __mmask16 mask = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);                                           \
      __m512 wz = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, scales + b), zero_points16(w, n, b));                     \
      UNROLL for (int r = 0; r < ROWS; r++) acc[0][r] = _mm512_fnmadd_ps(wz, _mm512_loadu_ps(rows[r].scaled_sums + b), acc[0][r]); \
    }                                                                                                                 \
    float bias = w->bias ? w->bias[n] : 0.0f;                                                                         \
    UNROLL for (int r = 0; r < ROWS; r++) job->y[(r0 + r) * w->n + n] = _mm512_reduce_add_ps(acc[0][r]) + bias;       \
  }
DEFINE_SMALL(1, 4)
DEFINE_SMALL(2, 4)
DEFINE_SMALL(3, 2)
DEFINE_SMALL(4, 2)

// Rows [r0, r0 + rows) (at most 4) × columns [first, last).
KERNEL static void small_rows(const SmallJob *job, int r0, int rows, int64_t first, int64_t last) {
  for (int64_t n = first; n < last; n++) {
    switch (rows) {
      case 1: small_1(job, n, r0); break;
      case 2: small_2(job, n, r0); break;
      case 3: small_3(job, n, r0); break;
      default: small_4(job, n, r0); break;
    }
  }
}

KERNEL static void small_task(void *data, size_t task) {
  const SmallJob *job = data;
  int64_t first = (int64_t)task * job->columns_per_task;
  int64_t last = first + job->columns_per_task < job->w->n ? first + job->columns_per_task : job->w->n;
  for (int r0 = 0; r0 < job->m; r0 += 4) small_rows(job, r0, job->m - r0 < 4 ? (int)(job->m - r0) : 4, first, last);
}

// ---- many rows: packed panels ----

typedef struct {
  const Int4Weight *w;
  float *y;
  int64_t m;
  const uint8_t *x_values;  // [m][blocks × 32]
  const float *x_scales;    // [m][blocks]
  int64_t panels, chunks;
  int out_of_memory;
} LargeJob;

// Unpacks columns [c0, c0 + 48) into the panel: per block, 8 groups × 3 vectors of 16 columns ×
// 4 int8 (w - zero point), then 3 × 16 int32 (-128 · Σw) and 3 × 16 float scales. Columns past
// n are zero.
KERNEL static void pack_panel(const Int4Weight *w, int64_t c0, uint8_t *panel) {
  const int64_t blocks = w->blocks;
  const __m128i nibble = _mm_set1_epi8(15);
  for (int64_t b = 0; b < blocks; b++) {
    uint8_t *out = panel + b * PANEL_BLOCK_BYTES;
    int32_t *sums = (int32_t *)(out + 8 * PANEL_VECTORS * 64);
    float *scales = (float *)(sums + 16 * PANEL_VECTORS);
    for (int c = 0; c < PANEL_COLUMNS; c++) {
      int64_t n = c0 + c;
      int j = c / 16, lane = c % 16;
      if (n >= w->n) {
        for (int g = 0; g < 8; g++) memset(out + (g * PANEL_VECTORS + j) * 64 + lane * 4, 0, 4);
        sums[j * 16 + lane] = 0;
        scales[j * 16 + lane] = 0;
        continue;
      }
      __m128i bytes = _mm_loadu_si128((const __m128i *)(w->packed + (n * blocks + b) * 16));
      __m128i lo = _mm_and_si128(bytes, nibble), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble);
      __m128i zp = _mm_set1_epi8((char)zero_point(w, n, b));
      __m128i k0 = _mm_sub_epi8(_mm_unpacklo_epi8(lo, hi), zp);  // k 0..15
      __m128i k1 = _mm_sub_epi8(_mm_unpackhi_epi8(lo, hi), zp);  // k 16..31
      __m512i wide = _mm512_add_epi32(_mm512_cvtepi8_epi32(k0), _mm512_cvtepi8_epi32(k1));
      sums[j * 16 + lane] = -128 * _mm512_reduce_add_epi32(wide);
      scales[j * 16 + lane] = w->scales[n * blocks + b];
      int32_t groups[8];
      _mm_storeu_si128((__m128i *)groups, k0);
      _mm_storeu_si128((__m128i *)(groups + 4), k1);
      for (int g = 0; g < 8; g++) memcpy(out + (g * PANEL_VECTORS + j) * 64 + lane * 4, &groups[g], 4);
    }
  }
}

// A tile of ROWS (≤ 4) rows × 48 columns over the whole of K.
#define DEFINE_TILE(ROWS)                                                                                              \
  KERNEL static void tile_##ROWS(const LargeJob *job, const uint8_t *panel, int64_t row, int64_t c0) {                \
    const Int4Weight *w = job->w;                                                                                     \
    const int64_t blocks = w->blocks, stride = blocks * 32;                                                           \
    __m512 acc[ROWS][PANEL_VECTORS];                                                                                  \
    UNROLL for (int r = 0; r < ROWS; r++)                                                                             \
      UNROLL for (int j = 0; j < PANEL_VECTORS; j++) acc[r][j] = _mm512_setzero_ps();                                 \
    const uint8_t *x = job->x_values + row * stride;                                                                  \
    const float *xs = job->x_scales + row * blocks;                                                                   \
    for (int64_t b = 0; b < blocks; b++) {                                                                            \
      const uint8_t *block = panel + b * PANEL_BLOCK_BYTES;                                                           \
      const __m512i *sums = (const __m512i *)(block + 8 * PANEL_VECTORS * 64);                                        \
      const __m512 *scales = (const __m512 *)(sums + PANEL_VECTORS);                                                  \
      __m512i dot[ROWS][PANEL_VECTORS];                                                                               \
      UNROLL for (int r = 0; r < ROWS; r++)                                                                           \
        UNROLL for (int j = 0; j < PANEL_VECTORS; j++) dot[r][j] = _mm512_load_si512(sums + j);                       \
      UNROLL for (int g = 0; g < 8; g++) {                                                                            \
        __m512i wv[PANEL_VECTORS];                                                                                    \
        UNROLL for (int j = 0; j < PANEL_VECTORS; j++) wv[j] = _mm512_load_si512(block + (g * PANEL_VECTORS + j) * 64); \
        UNROLL for (int r = 0; r < ROWS; r++) {                                                                       \
          int32_t four;                                                                                               \
          memcpy(&four, x + r * stride + b * 32 + g * 4, 4);                                                          \
          __m512i a = _mm512_set1_epi32(four);                                                                        \
          UNROLL for (int j = 0; j < PANEL_VECTORS; j++) dot[r][j] = _mm512_dpbusd_epi32(dot[r][j], a, wv[j]);        \
        }                                                                                                             \
      }                                                                                                               \
      UNROLL for (int r = 0; r < ROWS; r++) {                                                                         \
        __m512 xscale = _mm512_set1_ps(xs[r * blocks + b]);                                                           \
        UNROLL for (int j = 0; j < PANEL_VECTORS; j++)                                                                \
          acc[r][j] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot[r][j]), scales[j]), xscale, acc[r][j]);    \
      }                                                                                                               \
    }                                                                                                                 \
    for (int j = 0; j < PANEL_VECTORS; j++) {                                                                         \
      int64_t n0 = c0 + 16 * j;                                                                                       \
      if (n0 >= w->n) break;                                                                                          \
      __mmask16 mask = w->n - n0 >= 16 ? 0xFFFF : (__mmask16)((1u << (w->n - n0)) - 1);                               \
      __m512 bias = w->bias ? _mm512_maskz_loadu_ps(mask, w->bias + n0) : _mm512_setzero_ps();                        \
      for (int r = 0; r < ROWS; r++) _mm512_mask_storeu_ps(job->y + (row + r) * w->n + n0, mask, _mm512_add_ps(acc[r][j], bias)); \
    }                                                                                                                 \
  }
DEFINE_TILE(1)
DEFINE_TILE(2)
DEFINE_TILE(3)
DEFINE_TILE(4)

KERNEL static void large_task(void *data, size_t task) {
  LargeJob *job = data;
  int64_t panel_index = (int64_t)task % job->panels, chunk = (int64_t)task / job->panels;
  uint8_t *panel = scratch(1, (size_t)job->w->blocks * PANEL_BLOCK_BYTES);
  if (!panel) {
    job->out_of_memory = 1;
    return;
  }
  int64_t c0 = panel_index * PANEL_COLUMNS;
  pack_panel(job->w, c0, panel);
  int64_t first = chunk * CHUNK_ROWS, last = first + CHUNK_ROWS < job->m ? first + CHUNK_ROWS : job->m;
  int64_t row = first;
  for (; row + TILE_ROWS <= last; row += TILE_ROWS) tile_4(job, panel, row, c0);
  switch (last - row) {
    case 3: tile_3(job, panel, row, c0); break;
    case 2: tile_2(job, panel, row, c0); break;
    case 1: tile_1(job, panel, row, c0); break;
  }
}

typedef struct {
  const float *x;
  int64_t k, blocks;
  uint8_t *values;
  float *scales;
} QuantizeJob;

KERNEL static void quantize_task(void *data, size_t row) {
  const QuantizeJob *job = data;
  quantize_row_large(job->x + (int64_t)row * job->k, job->k, job->blocks, job->values + (int64_t)row * job->blocks * 32, job->scales + (int64_t)row * job->blocks);
}

int int4_matmul(const Int4Weight *w, const float *x, float *y, int64_t m, ParallelFor parallel_for, void *context) {
  if (m <= 0 || w->n <= 0) return 0;
  const int64_t blocks = w->blocks;
  if (m <= SMALL_ROWS_MAX) {
    int64_t quads = (blocks + 3) / 4, padded = (blocks + 15) & ~(int64_t)15;
    size_t row_bytes = (size_t)quads * 128 + (size_t)quads * 64 + (size_t)padded * 4;
    uint8_t *memory = scratch(0, row_bytes * (size_t)m);
    if (!memory) return -1;
    SmallJob job = {.w = w, .y = y, .m = m};
    for (int64_t r = 0; r < m; r++) {
      uint8_t *at = memory + r * row_bytes;
      job.rows[r] = (SmallRow){(int8_t *)at, (float *)(at + quads * 128), (float *)(at + quads * 192)};
      quantize_row_small(x + r * w->k, w->k, blocks, job.rows[r]);
    }
    // Memory-bound: a few long runs of whole columns, each streamed in order by one thread.
    const int64_t tasks = 8;
    job.columns_per_task = ((w->n + tasks - 1) / tasks + 15) / 16 * 16;
    parallel_for(context, small_task, (size_t)((w->n + job.columns_per_task - 1) / job.columns_per_task), &job);
    return 0;
  }
  size_t x_bytes = (size_t)m * blocks * 32;
  uint8_t *memory = scratch(0, x_bytes + (size_t)m * blocks * sizeof(float));
  if (!memory) return -1;
  QuantizeJob quantize = {x, w->k, blocks, memory, (float *)(memory + x_bytes)};
  parallel_for(context, quantize_task, (size_t)m, &quantize);
  LargeJob job = {.w = w, .y = y, .m = m, .x_values = quantize.values, .x_scales = quantize.scales};
  job.panels = (w->n + PANEL_COLUMNS - 1) / PANEL_COLUMNS;
  job.chunks = (m + CHUNK_ROWS - 1) / CHUNK_ROWS;
  parallel_for(context, large_task, (size_t)(job.panels * job.chunks), &job);
  return job.out_of_memory ? -1 : 0;
}
#endif
