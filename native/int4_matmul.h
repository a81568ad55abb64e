// Y = X · Wᵀ for a weight stored as ONNX Runtime's com.microsoft.MatMulNBits keeps it (4 bits,
// blocks of 32 along K, a float scale and a 4-bit zero point per block), with X quantized to
// int8 per row and block (what MatMulNBits does at accuracy_level 4) and the products summed
// with AVX-512 VNNI. See int4_matmul.c for the two paths (few rows: straight from the stored
// layout; many rows: repacked panels).
#ifndef XLLM_INT4_MATMUL_H
#define XLLM_INT4_MATMUL_H

#include <stddef.h>
#include <stdint.h>

enum { INT4_BLOCK = 32 };

typedef struct {
  int64_t n, k, blocks;        // blocks = ceil(k / 32)
  const uint8_t *packed;       // [n][blocks][16]: k = 2i in the low nibble of byte i, 2i + 1 in the high
  const float *scales;         // [n][blocks]
  const uint8_t *zero_points;  // [n][ceil(blocks / 2)], block b in nibble b % 2 of byte b / 2; NULL: 8
  const float *bias;           // [n] or NULL
} Int4Weight;

// Runs fn(data, i) for every i in [0, count), possibly on several threads (each taking the next
// i as it frees up), and returns when all have finished. ONNX Runtime's intra-op pool in the
// custom op.
typedef void (*ParallelFor)(void *context, void (*fn)(void *data, size_t i), size_t count, void *data);

// True when this CPU has what the kernels need (AVX-512 F, BW, VL and VNNI).
int int4_matmul_supported(void);

// y[m][n] = Σ_k x[m][k] · w[n][k] (+ bias[n]). Returns 0, or -1 when out of memory.
int int4_matmul(const Int4Weight *w, const float *x, float *y, int64_t m, ParallelFor parallel_for, void *context);

#endif
