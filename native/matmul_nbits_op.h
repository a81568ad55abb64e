#ifndef XLLM_MATMUL_NBITS_OP_H
#define XLLM_MATMUL_NBITS_OP_H

#include "ort_api.h"

// Why our MatMulNBits kernel cannot run here (a static string), or NULL when it can.
const char *matmul_nbits_unavailable(void);

// The custom op domain holding our MatMulNBits, for OrtApi::AddCustomOpDomain; made once.
OrtStatus *matmul_nbits_domain(OrtCustomOpDomain **out);

#endif
