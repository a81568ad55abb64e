// The part of ONNX Runtime's C API the addon calls, bound from the library that onnxruntime-node
// ships (loaded by path, so the process holds one copy). OrtGetApiBase()->GetApi(version)
// returns a table of function pointers whose order is fixed (onnxruntime_c_api.h only ever
// appends to it); the slots below are the ones we call, numbered as in that header.
#ifndef XLLM_ORT_API_H
#define XLLM_ORT_API_H

#include <stddef.h>
#include <stdint.h>

typedef struct OrtEnv OrtEnv;
typedef struct OrtStatus OrtStatus;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtCustomOpDomain OrtCustomOpDomain;
typedef struct OrtCustomOp OrtCustomOp;
typedef struct OrtKernelInfo OrtKernelInfo;
typedef struct OrtKernelContext OrtKernelContext;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtOp OrtOp;
typedef struct OrtOpAttr OrtOpAttr;

// The oldest C API version with every slot below (KernelContext_ParallelFor came in 1.17).
enum { ORT_API_VERSION_USED = 17 };

// Enum values of the C API.
enum { LOGGING_LEVEL_WARNING = 2, EXECUTION_MODE_SEQUENTIAL = 0, GRAPH_OPTIMIZATION_ALL = 99 };
enum { ARENA_ALLOCATOR = 1, MEM_TYPE_DEFAULT = 0 };
enum { ELEMENT_FLOAT = 1, ELEMENT_UINT8 = 2, ELEMENT_INT8 = 3, ELEMENT_INT32 = 6, ELEMENT_INT64 = 7 };
enum { ORT_ERROR_FAIL = 1, ORT_ERROR_INVALID_ARGUMENT = 2 };
enum { OP_ATTR_INT = 1, OP_ATTR_FLOAT = 3 };

typedef struct {
  const void *(*GetApi)(uint32_t version);
  const char *(*GetVersionString)(void);
} OrtApiBase;

typedef struct {
  OrtStatus *(*CreateStatus)(int code, const char *message);
  const char *(*GetErrorMessage)(const OrtStatus *);
  OrtStatus *(*CreateEnv)(int level, const char *logid, OrtEnv **out);
  OrtStatus *(*CreateSession)(const OrtEnv *, const char *path, const OrtSessionOptions *, OrtSession **out);
  OrtStatus *(*Run)(OrtSession *, const void *run_options, const char *const *input_names, const OrtValue *const *inputs,
                    size_t input_count, const char *const *output_names, size_t output_count, OrtValue **outputs);
  OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **out);
  OrtStatus *(*SetSessionExecutionMode)(OrtSessionOptions *, int mode);
  OrtStatus *(*SetSessionGraphOptimizationLevel)(OrtSessionOptions *, int level);
  OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *, int threads);
  OrtStatus *(*SetInterOpNumThreads)(OrtSessionOptions *, int threads);
  OrtStatus *(*CreateCustomOpDomain)(const char *domain, OrtCustomOpDomain **out);
  OrtStatus *(*CustomOpDomain_Add)(OrtCustomOpDomain *, const OrtCustomOp *op);
  OrtStatus *(*AddCustomOpDomain)(OrtSessionOptions *, OrtCustomOpDomain *);
  OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *, void *data, size_t bytes, const int64_t *shape,
                                               size_t rank, int element_type, OrtValue **out);
  OrtStatus *(*GetTensorMutableData)(OrtValue *, void **out);
  OrtStatus *(*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *, size_t *out);
  OrtStatus *(*GetDimensions)(const OrtTensorTypeAndShapeInfo *, int64_t *values, size_t count);
  OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *, OrtTensorTypeAndShapeInfo **out);
  OrtStatus *(*CreateCpuMemoryInfo)(int allocator, int mem_type, OrtMemoryInfo **out);
  OrtStatus *(*KernelInfoGetAttribute_float)(const OrtKernelInfo *, const char *name, float *out);
  OrtStatus *(*KernelInfoGetAttribute_int64)(const OrtKernelInfo *, const char *name, int64_t *out);
  OrtStatus *(*KernelContext_GetInputCount)(const OrtKernelContext *, size_t *out);
  OrtStatus *(*KernelContext_GetInput)(const OrtKernelContext *, size_t index, const OrtValue **out);
  OrtStatus *(*KernelContext_GetOutput)(OrtKernelContext *, size_t index, const int64_t *dims, size_t count, OrtValue **out);
  void (*ReleaseStatus)(OrtStatus *);
  void (*ReleaseSession)(OrtSession *);
  void (*ReleaseValue)(OrtValue *);
  void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *);
  void (*ReleaseSessionOptions)(OrtSessionOptions *);
  OrtStatus *(*KernelContext_ParallelFor)(const OrtKernelContext *, void (*fn)(void *, size_t), size_t total, size_t batches,
                                          void *data);
  // ONNX Runtime's own kernels, run from inside a custom op (attention_op.c).
  OrtStatus *(*CreateOpAttr)(const char *name, const void *data, int length, int type, OrtOpAttr **out);
  void (*ReleaseOpAttr)(OrtOpAttr *);
  OrtStatus *(*CreateOp)(const OrtKernelInfo *, const char *name, const char *domain, int version, const char *const *type_names,
                         const int *type_values, int type_count, const OrtOpAttr *const *attrs, int attr_count, int input_count,
                         int output_count, OrtOp **out);
  OrtStatus *(*InvokeOp)(const OrtKernelContext *, const OrtOp *, const OrtValue *const *inputs, int input_count,
                         OrtValue *const *outputs, int output_count);
  void (*ReleaseOp)(OrtOp *);
} OrtFunctions;

extern OrtFunctions ort;

// Binds `ort` from the table GetApi(ORT_API_VERSION_USED) returned.
void ort_bind(void *const *api);

#endif
