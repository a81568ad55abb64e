#ifndef XLLM_MATMUL_NBITS_OP_H
#define XLLM_MATMUL_NBITS_OP_H

#include "ort_api.h"

// Why our MatMulNBits kernel cannot run here (a static string), or NULL when it can.
const char *matmul_nbits_unavailable(void);

// Our com.microsoft.MatMulNBits (matmul_nbits_op.c).
const OrtCustomOp *matmul_nbits_op(void);

#endif
