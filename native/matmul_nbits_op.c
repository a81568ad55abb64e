// Our kernel for com.microsoft.MatMulNBits (int4_matmul.c), registered as an ONNX Runtime custom
// op of the same domain and name: custom kernels are looked up before the built-in ones, so a
// session given this domain runs every MatMulNBits node of the graph on it, and the graph file
// stays the one onnxruntime-node and the GPU providers run. It takes what our converter writes
// and most int4 exports: 4 bits, blocks of 32, uint8 zero points or none, a bias or none,
// float activations, accuracy_level 4 (int8 activations, which is what the kernel computes).
// Anything else fails the kernel's creation, and the caller opens the session without it.
#include "matmul_nbits_op.h"

#include <stdlib.h>

#include "custom_op.h"
#include "int4_matmul.h"

// MatMulNBits inputs: A, B, scales, zero_points, g_idx, bias.
enum { INPUT_A, INPUT_B, INPUT_SCALES, INPUT_ZERO_POINTS, INPUT_G_IDX, INPUT_BIAS, INPUT_COUNT };
static const int input_types[INPUT_COUNT] = {ELEMENT_FLOAT, ELEMENT_UINT8, ELEMENT_FLOAT, ELEMENT_UINT8, ELEMENT_INT32, ELEMENT_FLOAT};

typedef struct {
  int64_t n, k;
} Kernel;

static const char *op_name(const OrtCustomOp *op) { return (void)op, "MatMulNBits"; }
static int op_input_type(const OrtCustomOp *op, size_t i) { return (void)op, input_types[i]; }
static size_t op_input_count(const OrtCustomOp *op) { return (void)op, INPUT_COUNT; }
static int op_input_characteristic(const OrtCustomOp *op, size_t i) { return (void)op, i <= INPUT_SCALES ? REQUIRED : OPTIONAL; }

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
  if (bits != 4) return custom_op_fail("xllm MatMulNBits: bits %lld (only 4)", bits);
  if (block_size != INT4_BLOCK) return custom_op_fail("xllm MatMulNBits: block_size %lld (only 32)", block_size);
  if (accuracy_level != 4) return custom_op_fail("xllm MatMulNBits: accuracy_level %lld (only 4: int8 activations)", accuracy_level);
  Kernel *kernel = malloc(sizeof *kernel);
  if (!kernel) return ort.CreateStatus(ORT_ERROR_FAIL, "out of memory");
  kernel->n = n;
  kernel->k = k;
  *out = kernel;
  return NULL;
}

static void destroy_kernel(void *kernel) { free(kernel); }

static OrtStatus *compute(void *opaque, OrtKernelContext *context) {
  const Kernel *kernel = opaque;
  size_t inputs;
  OrtStatus *status = ort.KernelContext_GetInputCount(context, &inputs);
  if (status) return status;
  int64_t dims[8];
  size_t rank;
  if ((status = custom_op_input_shape(context, INPUT_A, dims, &rank))) return status;
  if (dims[rank - 1] != kernel->k) return custom_op_fail("xllm MatMulNBits: A's last dimension is %lld, not K", dims[rank - 1]);
  int64_t m = 1;
  for (size_t d = 0; d + 1 < rank; d++) m *= dims[d];
  dims[rank - 1] = kernel->n;

  Int4Weight w = {.n = kernel->n, .k = kernel->k, .blocks = (kernel->k + INT4_BLOCK - 1) / INT4_BLOCK};
  const void *x, *g_idx;
  void *y;
  OrtValue *output;
  if ((status = custom_op_input_data(context, inputs, INPUT_A, &x)) || (status = custom_op_input_data(context, inputs, INPUT_B, (const void **)&w.packed)) ||
      (status = custom_op_input_data(context, inputs, INPUT_SCALES, (const void **)&w.scales)) ||
      (status = custom_op_input_data(context, inputs, INPUT_ZERO_POINTS, (const void **)&w.zero_points)) ||
      (status = custom_op_input_data(context, inputs, INPUT_G_IDX, &g_idx)) || (status = custom_op_input_data(context, inputs, INPUT_BIAS, (const void **)&w.bias))) {
    return status;
  }
  if (g_idx) return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, "xllm MatMulNBits: g_idx is not supported");
  if ((status = ort.KernelContext_GetOutput(context, 0, dims, rank, &output)) || (status = ort.GetTensorMutableData(output, &y))) return status;
  if (int4_matmul(&w, x, y, m, custom_op_parallel_for, context) != 0) return ort.CreateStatus(ORT_ERROR_FAIL, "xllm MatMulNBits: out of memory");
  return NULL;
}

static const OrtCustomOp matmul_nbits = {
  CUSTOM_OP_COMMON_FIELDS,
  .GetName = op_name,
  .GetInputType = op_input_type,
  .GetInputTypeCount = op_input_count,
  .GetInputCharacteristic = op_input_characteristic,
  .GetOutputTypeCount = custom_op_one_output,
  .CreateKernelV2 = create_kernel,
  .KernelComputeV2 = compute,
  .KernelDestroy = destroy_kernel,
};

const char *matmul_nbits_unavailable(void) {
  return int4_matmul_supported() ? NULL : "this CPU lacks AVX-512 VNNI (the int4 kernel needs AVX-512 F, BW, VL, DQ and VNNI)";
}

const OrtCustomOp *matmul_nbits_op(void) { return &matmul_nbits; }
