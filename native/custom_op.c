#include "custom_op.h"

#include <pthread.h>
#include <stdio.h>

const char *custom_op_cpu_provider(const OrtCustomOp *op) { return (void)op, "CPUExecutionProvider"; }
int custom_op_float_output(const OrtCustomOp *op, size_t index) { return (void)op, (void)index, ELEMENT_FLOAT; }
size_t custom_op_one_output(const OrtCustomOp *op) { return (void)op, 1; }
int custom_op_required_output(const OrtCustomOp *op, size_t index) { return (void)op, (void)index, REQUIRED; }
int custom_op_default_memory(const OrtCustomOp *op, size_t index) { return (void)op, (void)index, MEM_TYPE_DEFAULT; }
int custom_op_variadic_arity(const OrtCustomOp *op) { return (void)op, 1; }
int custom_op_variadic_homogeneity(const OrtCustomOp *op) { return (void)op, 0; }

OrtStatus *custom_op_fail(const char *format, int64_t value) {
  char message[200];
  snprintf(message, sizeof message, format, (long long)value);
  return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, message);
}

void custom_op_parallel_for(void *context, void (*fn)(void *, size_t), size_t count, void *data) {
  // As many batches as items: the pool hands each to the next free thread.
  OrtStatus *status = ort.KernelContext_ParallelFor(context, fn, count, count, data);
  if (status) {  // no thread pool to hand: run them here
    ort.ReleaseStatus(status);
    for (size_t i = 0; i < count; i++) fn(data, i);
  }
}

OrtStatus *custom_op_input_data(OrtKernelContext *context, size_t count, size_t index, const void **data) {
  *data = NULL;
  if (index >= count) return NULL;
  const OrtValue *value = NULL;
  OrtStatus *status = ort.KernelContext_GetInput(context, index, &value);
  if (status || !value) return status;
  return ort.GetTensorMutableData((OrtValue *)value, (void **)data);
}

OrtStatus *custom_op_input_shape(OrtKernelContext *context, size_t index, int64_t dims[8], size_t *rank) {
  const OrtValue *value;
  OrtStatus *status = ort.KernelContext_GetInput(context, index, &value);
  if (status) return status;
  OrtTensorTypeAndShapeInfo *shape;
  if ((status = ort.GetTensorTypeAndShape(value, &shape))) return status;
  status = ort.GetDimensionsCount(shape, rank);
  if (!status && (*rank < 1 || *rank > 8)) status = custom_op_fail("xllm: an input of rank %lld (1 to 8 expected)", (int64_t)*rank);
  if (!status) status = ort.GetDimensions(shape, dims, *rank);
  ort.ReleaseTensorTypeAndShapeInfo(shape);
  return status;
}

OrtStatus *custom_op_domain(OrtCustomOpDomain **cache, const char *name, const OrtCustomOp *const *ops, size_t count) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  OrtStatus *status = NULL;
  pthread_mutex_lock(&lock);
  if (!*cache) {
    OrtCustomOpDomain *made = NULL;
    status = ort.CreateCustomOpDomain(name, &made);
    for (size_t i = 0; i < count && !status; i++) status = ort.CustomOpDomain_Add(made, ops[i]);
    if (!status) *cache = made;  // a failed one is not released: ReleaseCustomOpDomain is not bound, and it is a few bytes once
  }
  pthread_mutex_unlock(&lock);
  return status;
}
