#ifndef XLLM_ATTENTION_OP_H
#define XLLM_ATTENTION_OP_H

#include <stddef.h>
#include <stdint.h>

#include "ort_api.h"

// Our com.microsoft.GroupQueryAttention (attention_op.c): ONNX Runtime's kernel, run per segment.
const OrtCustomOp *attention_op(void);

// The segments of the pass about to run on this thread: `count` triples (first slot, rows,
// seq), in token order; attention_pass_end() after the run. The array must outlive the run.
void attention_pass_begin(const int32_t *segments, size_t count);
void attention_pass_end(void);

#endif
