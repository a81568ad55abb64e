// Grouped-query attention over a KV cache, for one rectangular block of tokens (attention_op.c's
// segment): the new tokens' keys and values written into the cache at their positions, then each
// query attends causally to its row's keys. The query heads that share a key-value head are done
// together, so each key and value is read once for all of them (ONNX Runtime's CPU kernel reads
// them once per query head: 7× the traffic on Qwen2.5's 14 / 2 heads, which is what a decode
// step at long context waits for).
#ifndef XLLM_ATTENTION_H
#define XLLM_ATTENTION_H

#include <stdint.h>

#include "int4_matmul.h"  // ParallelFor

typedef struct {
  int64_t heads, kv_heads, head_dim;
  float scale;
  // Rotary embedding of q and k (the halves convention), from tables [positions][head_dim / 2];
  // NULL cos: none (the graph rotated them itself).
  const float *cos, *sin;
  int64_t rotary_positions;
} AttentionShape;

typedef struct {
  int64_t rows, seq;
  // Token t = row · seq + i: its query heads at q + t · q_stride, its key and value heads at
  // k + t · kv_stride and v + t · kv_stride, its output at out + t · out_stride.
  const float *q, *k, *v;
  int64_t q_stride, kv_stride, out_stride;
  float *out;
  // The rows' slots: [rows][kv heads][capacity][head dim].
  float *key_cache, *value_cache;
  int64_t capacity;
  // Row r holds totals[r] positions after this block; its new tokens are the last of them (a row
  // with fewer than seq, a prompt padded in a batch of fresh prompts, has no past).
  const int32_t *totals;
  // Each token's position for the rotary embedding, or NULL: its place in its row.
  const int64_t *positions;
} AttentionBlock;

// Whether this CPU runs attention_run (AVX-512 F), and the shape is one it takes: head_dim a
// multiple of 16 up to 256, whole groups of query heads.
int attention_supported(const AttentionShape *shape);

// 0 on success; -1 out of memory; -2 a position outside the cache or the rotary tables.
int attention_run(const AttentionShape *shape, const AttentionBlock *block, ParallelFor parallel_for, void *context);

#endif
