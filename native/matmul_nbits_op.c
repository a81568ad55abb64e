// Our kernel for com.microsoft.MatMulNBits (int4_matmul.c), registered as an ONNX Runtime custom
// op of the same domain and name: custom kernels are looked up before the built-in ones, so a
// session given this domain runs every MatMulNBits node of the graph on it, and the graph file
// stays the one onnxruntime-node and the GPU providers run. It takes what our converter writes
// and most int4 exports: 4 bits, blocks of 32, uint8 zero points or none, a bias or none,
// float activations, accuracy_level 4 (int8 activations, which is what the kernel computes).
// Anything else fails the kernel's creation, and the caller opens the session without it.
#include "matmul_nbits_op.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "int4_matmul.h"

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

// MatMulNBits inputs: A, B, scales, zero_points, g_idx, bias.
enum { INPUT_A, INPUT_B, INPUT_SCALES, INPUT_ZERO_POINTS, INPUT_G_IDX, INPUT_BIAS, INPUT_COUNT };
static const int input_types[INPUT_COUNT] = {ELEMENT_FLOAT, ELEMENT_UINT8, ELEMENT_FLOAT, ELEMENT_UINT8, ELEMENT_INT32, ELEMENT_FLOAT};

typedef struct {
  int64_t n, k;
} Kernel;

static const char *op_name(const OrtCustomOp *op) { return (void)op, "MatMulNBits"; }
static const char *op_provider(const OrtCustomOp *op) { return (void)op, "CPUExecutionProvider"; }
static int op_input_type(const OrtCustomOp *op, size_t i) { return (void)op, input_types[i]; }
static size_t op_input_count(const OrtCustomOp *op) { return (void)op, INPUT_COUNT; }
static int op_output_type(const OrtCustomOp *op, size_t i) { return (void)op, (void)i, ELEMENT_FLOAT; }
static size_t op_output_count(const OrtCustomOp *op) { return (void)op, 1; }
static int op_input_characteristic(const OrtCustomOp *op, size_t i) { return (void)op, i <= INPUT_SCALES ? REQUIRED : OPTIONAL; }
static int op_output_characteristic(const OrtCustomOp *op, size_t i) { return (void)op, (void)i, REQUIRED; }
static int op_input_memory_type(const OrtCustomOp *op, size_t i) { return (void)op, (void)i, MEM_TYPE_DEFAULT; }
static int op_variadic_arity(const OrtCustomOp *op) { return (void)op, 1; }
static int op_variadic_homogeneity(const OrtCustomOp *op) { return (void)op, 0; }

static OrtStatus *fail(const char *format, int64_t value) {
  char message[200];
  snprintf(message, sizeof message, format, (long long)value);
  return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, message);
}

static OrtStatus *create_kernel(const OrtCustomOp *op, const void *api, const OrtKernelInfo *info, void **out) {
  (void)op, (void)api;
  int64_t n, k, bits, block_size, accuracy_level = 0;
  OrtStatus *status = ort.KernelInfoGetAttribute_int64(info, "N", &n);
  if (!status) status = ort.KernelInfoGetAttribute_int64(info, "K", &k);
  if (!status) status = ort.KernelInfoGetAttribute_int64(info, "bits", &bits);
  if (!status) status = ort.KernelInfoGetAttribute_int64(info, "block_size", &block_size);
  if (status) return status;
  status = ort.KernelInfoGetAttribute_int64(info, "accuracy_level", &accuracy_level);
  if (status) ort.ReleaseStatus(status);  // absent: 0
  if (bits != 4) return fail("xllm MatMulNBits: bits %lld (only 4)", bits);
  if (block_size != INT4_BLOCK) return fail("xllm MatMulNBits: block_size %lld (only 32)", block_size);
  if (accuracy_level != 4) return fail("xllm MatMulNBits: accuracy_level %lld (only 4: int8 activations)", accuracy_level);
  Kernel *kernel = malloc(sizeof *kernel);
  if (!kernel) return ort.CreateStatus(ORT_ERROR_FAIL, "out of memory");
  kernel->n = n;
  kernel->k = k;
  *out = kernel;
  return NULL;
}

static void destroy_kernel(void *kernel) { free(kernel); }

static void parallel_for(void *context, void (*fn)(void *, size_t), size_t count, void *data) {
  // As many batches as items: the pool hands each to the next free thread.
  OrtStatus *status = ort.KernelContext_ParallelFor(context, fn, count, count, data);
  if (status) {  // no thread pool to hand: run them here
    ort.ReleaseStatus(status);
    for (size_t i = 0; i < count; i++) fn(data, i);
  }
}

// Data of input `index`, or NULL when the node does not have it.
static OrtStatus *input_data(OrtKernelContext *context, size_t count, size_t index, const void **data) {
  *data = NULL;
  if (index >= count) return NULL;
  const OrtValue *value = NULL;
  OrtStatus *status = ort.KernelContext_GetInput(context, index, &value);
  if (status || !value) return status;
  return ort.GetTensorMutableData((OrtValue *)value, (void **)data);
}

static OrtStatus *compute(void *opaque, OrtKernelContext *context) {
  const Kernel *kernel = opaque;
  size_t inputs;
  OrtStatus *status = ort.KernelContext_GetInputCount(context, &inputs);
  if (status) return status;
  const OrtValue *a;
  if ((status = ort.KernelContext_GetInput(context, INPUT_A, &a))) return status;
  OrtTensorTypeAndShapeInfo *shape;
  if ((status = ort.GetTensorTypeAndShape(a, &shape))) return status;
  int64_t dims[8];
  size_t rank = 0;
  status = ort.GetDimensionsCount(shape, &rank);
  if (!status && (rank < 1 || rank > 8)) status = fail("xllm MatMulNBits: A has rank %lld", (int64_t)rank);
  if (!status) status = ort.GetDimensions(shape, dims, rank);
  ort.ReleaseTensorTypeAndShapeInfo(shape);
  if (status) return status;
  if (dims[rank - 1] != kernel->k) return fail("xllm MatMulNBits: A's last dimension is %lld, not K", dims[rank - 1]);
  int64_t m = 1;
  for (size_t d = 0; d + 1 < rank; d++) m *= dims[d];
  dims[rank - 1] = kernel->n;

  Int4Weight w = {.n = kernel->n, .k = kernel->k, .blocks = (kernel->k + INT4_BLOCK - 1) / INT4_BLOCK};
  const void *x, *g_idx;
  void *y;
  OrtValue *output;
  if ((status = input_data(context, inputs, INPUT_A, &x)) || (status = input_data(context, inputs, INPUT_B, (const void **)&w.packed)) ||
      (status = input_data(context, inputs, INPUT_SCALES, (const void **)&w.scales)) ||
      (status = input_data(context, inputs, INPUT_ZERO_POINTS, (const void **)&w.zero_points)) ||
      (status = input_data(context, inputs, INPUT_G_IDX, &g_idx)) || (status = input_data(context, inputs, INPUT_BIAS, (const void **)&w.bias))) {
    return status;
  }
  if (g_idx) return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, "xllm MatMulNBits: g_idx is not supported");
  if ((status = ort.KernelContext_GetOutput(context, 0, dims, rank, &output)) || (status = ort.GetTensorMutableData(output, &y))) return status;
  if (int4_matmul(&w, x, y, m, parallel_for, context) != 0) return ort.CreateStatus(ORT_ERROR_FAIL, "xllm MatMulNBits: out of memory");
  return NULL;
}

static const OrtCustomOp matmul_nbits = {
  .version = 16,
  .GetName = op_name,
  .GetExecutionProviderType = op_provider,
  .GetInputType = op_input_type,
  .GetInputTypeCount = op_input_count,
  .GetOutputType = op_output_type,
  .GetOutputTypeCount = op_output_count,
  .KernelDestroy = destroy_kernel,
  .GetInputCharacteristic = op_input_characteristic,
  .GetOutputCharacteristic = op_output_characteristic,
  .GetInputMemoryType = op_input_memory_type,
  .GetVariadicInputMinArity = op_variadic_arity,
  .GetVariadicInputHomogeneity = op_variadic_homogeneity,
  .GetVariadicOutputMinArity = op_variadic_arity,
  .GetVariadicOutputHomogeneity = op_variadic_homogeneity,
  .CreateKernelV2 = create_kernel,
  .KernelComputeV2 = compute,
};

const char *matmul_nbits_unavailable(void) {
  return int4_matmul_supported() ? NULL : "this CPU lacks AVX-512 VNNI (the int4 kernel needs AVX-512 F, BW, VL, DQ and VNNI)";
}

OrtStatus *matmul_nbits_domain(OrtCustomOpDomain **out) {
  // Made once and kept for the process: sessions are created on several threads, and each
  // keeps using the domain for as long as it lives.
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static OrtCustomOpDomain *domain;
  OrtStatus *status = NULL;
  pthread_mutex_lock(&lock);
  if (!domain) {
    OrtCustomOpDomain *made = NULL;
    status = ort.CreateCustomOpDomain("com.microsoft", &made);
    if (!status) status = ort.CustomOpDomain_Add(made, &matmul_nbits);
    if (!status) domain = made;  // a failed one is not released: ReleaseCustomOpDomain is not bound, and it is a few bytes once
  }
  pthread_mutex_unlock(&lock);
  *out = domain;
  return status;
}
