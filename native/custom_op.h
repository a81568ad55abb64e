// What our ONNX Runtime custom ops (matmul_nbits_op.c; the next ones alike) share: the OrtCustomOp
// table, the callbacks that are the same for all of them, and small helpers over the C API.
#ifndef XLLM_CUSTOM_OP_H
#define XLLM_CUSTOM_OP_H

#include <stddef.h>
#include <stdint.h>

#include "ort_api.h"

typedef enum { REQUIRED = 0, OPTIONAL = 1 } Characteristic;

// OrtCustomOp as onnxruntime_c_api.h lays it out up to version 16 (CreateKernelV2 and
// KernelComputeV2, which report errors as a status).
struct OrtCustomOp {
  uint32_t version;
  void *(*CreateKernel)(const OrtCustomOp *, const void *api, const OrtKernelInfo *);
  const char *(*GetName)(const OrtCustomOp *);
  const char *(*GetExecutionProviderType)(const OrtCustomOp *);
  int (*GetInputType)(const OrtCustomOp *, size_t index);
  size_t (*GetInputTypeCount)(const OrtCustomOp *);
  int (*GetOutputType)(const OrtCustomOp *, size_t index);
  size_t (*GetOutputTypeCount)(const OrtCustomOp *);
  void (*KernelCompute)(void *kernel, OrtKernelContext *);
  void (*KernelDestroy)(void *kernel);
  int (*GetInputCharacteristic)(const OrtCustomOp *, size_t index);
  int (*GetOutputCharacteristic)(const OrtCustomOp *, size_t index);
  int (*GetInputMemoryType)(const OrtCustomOp *, size_t index);
  int (*GetVariadicInputMinArity)(const OrtCustomOp *);
  int (*GetVariadicInputHomogeneity)(const OrtCustomOp *);
  int (*GetVariadicOutputMinArity)(const OrtCustomOp *);
  int (*GetVariadicOutputHomogeneity)(const OrtCustomOp *);
  OrtStatus *(*CreateKernelV2)(const OrtCustomOp *, const void *api, const OrtKernelInfo *, void **kernel);
  OrtStatus *(*KernelComputeV2)(void *kernel, OrtKernelContext *);
};

// Callbacks every op of ours answers alike: the CPU provider, one float output, default
// memory, no variadic inputs or outputs.
const char *custom_op_cpu_provider(const OrtCustomOp *op);
int custom_op_float_output(const OrtCustomOp *op, size_t index);
size_t custom_op_one_output(const OrtCustomOp *op);
int custom_op_required_output(const OrtCustomOp *op, size_t index);
int custom_op_default_memory(const OrtCustomOp *op, size_t index);
int custom_op_variadic_arity(const OrtCustomOp *op);
int custom_op_variadic_homogeneity(const OrtCustomOp *op);

// The fields of an OrtCustomOp table that every op of ours fills alike (after the callbacks
// above); each op adds its name, inputs, output count and kernel functions.
#define CUSTOM_OP_COMMON_FIELDS                                                                           \
  .version = 16, .GetExecutionProviderType = custom_op_cpu_provider, .GetOutputType = custom_op_float_output, \
  .GetOutputCharacteristic = custom_op_required_output, .GetInputMemoryType = custom_op_default_memory,      \
  .GetVariadicInputMinArity = custom_op_variadic_arity, .GetVariadicInputHomogeneity = custom_op_variadic_homogeneity, \
  .GetVariadicOutputMinArity = custom_op_variadic_arity, .GetVariadicOutputHomogeneity = custom_op_variadic_homogeneity

// A status with `format` (one %lld) filled with `value`.
OrtStatus *custom_op_fail(const char *format, int64_t value);

// Runs fn(data, i) for i in [0, count) on the kernel's intra-op thread pool (here when it has none).
void custom_op_parallel_for(void *context, void (*fn)(void *, size_t), size_t count, void *data);

// Data of input `index`, or NULL when the node does not have it (`count`: the node's input count).
OrtStatus *custom_op_input_data(OrtKernelContext *context, size_t count, size_t index, const void **data);

// Dimensions of input `index` (at most 8).
OrtStatus *custom_op_input_shape(OrtKernelContext *context, size_t index, int64_t dims[8], size_t *rank);

// The domain `name` holding `ops`, made the first time into *cache and kept for the process:
// sessions are created on several threads, and each uses the domain for as long as it lives.
OrtStatus *custom_op_domain(OrtCustomOpDomain **cache, const char *name, const OrtCustomOp *const *ops, size_t count);

#endif
