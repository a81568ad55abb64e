// A Node-API addon that runs ONNX Runtime sessions with every tensor, inputs and outputs,
// laid over the caller's typed arrays. onnxruntime-node copies each fetched output into a
// fresh ArrayBuffer after a run, even one the caller preallocated; for our graphs, whose KV
// cache is fed and fetched as the same buffer so that attention updates it in place, that is
// tens of MB a step plus the garbage collection it causes. Here nothing is copied.
//
// ort_api.h binds the ONNX Runtime library that onnxruntime-node ships. Every session gets our
// GroupQueryAttention (attention_op.c), which lets a run carry segments (mixed passes: run's
// `segments`); matmul_nbits_op.c is our int4 kernel, which sessions get when the caller asks
// and the CPU can run it.
#include <dlfcn.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "attention_op.h"
#include "custom_op.h"
#include "matmul_nbits_op.h"
#include "ort_api.h"

static OrtEnv *env;
static OrtMemoryInfo *cpu_memory;
static const char *runtime_version;

#define NAPI_CALL(call)                                   \
  do {                                                    \
    if ((call) != napi_ok) return throw_last(env_js);     \
  } while (0)

static napi_value throw_last(napi_env env_js) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env_js, &info);
  bool pending = false;
  napi_is_exception_pending(env_js, &pending);
  if (!pending) napi_throw_error(env_js, NULL, info && info->error_message ? info->error_message : "node-api call failed");
  return NULL;
}

// What an error message is when even its copy cannot be allocated (never freed).
static char out_of_memory[] = "out of memory";

static char *copy_message(const char *text) {
  char *message = strdup(text);
  return message ? message : out_of_memory;
}

static void free_message(char *message) {
  if (message != out_of_memory) free(message);
}

// Takes ownership of `status`; returns an error message (free_message it), or NULL when OK.
static char *status_message(OrtStatus *status) {
  if (!status) return NULL;
  char *message = copy_message(ort.GetErrorMessage(status));
  ort.ReleaseStatus(status);
  return message;
}

static napi_value throw_status(napi_env env_js, OrtStatus *status) {
  char *message = status_message(status);
  napi_throw_error(env_js, NULL, message);
  free_message(message);
  return NULL;
}

static napi_value throw_out_of_memory(napi_env env_js) {
  napi_throw_error(env_js, NULL, out_of_memory);
  return NULL;
}

// load(libraryPath): binds the C API of the library at that path; returns its version.
static napi_value load(napi_env env_js, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(napi_get_cb_info(env_js, info, &argc, argv, NULL, NULL));
  char path[4096];
  NAPI_CALL(napi_get_value_string_utf8(env_js, argv[0], path, sizeof path, NULL));
  if (!runtime_version) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) return napi_throw_error(env_js, NULL, dlerror()), NULL;
    const OrtApiBase *(*get_api_base)(void) = (const OrtApiBase *(*)(void))dlsym(library, "OrtGetApiBase");
    if (!get_api_base) return napi_throw_error(env_js, NULL, "OrtGetApiBase not found in the ONNX Runtime library"), NULL;
    void *const *api = (void *const *)get_api_base()->GetApi(ORT_API_VERSION_USED);
    if (!api) return napi_throw_error(env_js, NULL, "the ONNX Runtime library is older than 1.17 (C API version 17)"), NULL;
    ort_bind(api);
    // ONNX Runtime keeps one environment per process: this shares onnxruntime-node's.
    OrtStatus *status = ort.CreateEnv(LOGGING_LEVEL_WARNING, "xllm-ts", &env);
    if (!status) status = ort.CreateCpuMemoryInfo(ARENA_ALLOCATOR, MEM_TYPE_DEFAULT, &cpu_memory);
    if (status) return throw_status(env_js, status);
    runtime_version = get_api_base()->GetVersionString();
  }
  napi_value version;
  NAPI_CALL(napi_create_string_utf8(env_js, runtime_version, NAPI_AUTO_LENGTH, &version));
  return version;
}

// Queues `execute` off the main thread and `complete` back on it; returns the promise that
// `complete` settles through *deferred. NULL (an exception pending) when Node-API refuses.
static napi_value queue_promise_work(napi_env env_js, const char *name, napi_async_execute_callback execute,
                                     napi_async_complete_callback complete, void *job, napi_async_work *work,
                                     napi_deferred *deferred) {
  napi_value promise, work_name;
  if (napi_create_promise(env_js, deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env_js, name, NAPI_AUTO_LENGTH, &work_name) != napi_ok ||
      napi_create_async_work(env_js, NULL, work_name, execute, complete, job, work) != napi_ok ||
      napi_queue_async_work(env_js, *work) != napi_ok) {
    return throw_last(env_js);
  }
  return promise;
}

// ---- sessions ----
// A session handle (a JS external) owns a Session. Runs in flight hold it: release() while one
// is pending only marks it, and the last run to finish releases the ONNX Runtime session, so a
// run never sees its session freed under it, whatever the caller does.

typedef struct {
  OrtSession *ort;
  unsigned pending_runs;
  bool released;
} Session;

static void session_release_if_idle(Session *session) {
  if (session->released && session->pending_runs == 0 && session->ort) {
    ort.ReleaseSession(session->ort);
    session->ort = NULL;
  }
}

static void session_finalize(napi_env env_js, void *data, void *hint) {
  (void)env_js, (void)hint;
  Session *session = data;
  // Runs hold a reference to the handle, so none is pending once it is collected.
  session->released = true;
  session_release_if_idle(session);
  free(session);
}

// ---- createSession(path, intraOpThreads, int4Kernel) → Promise<session>, built off the main thread ----
// int4Kernel: MatMulNBits nodes run on our kernel (matmul_nbits_op.c); the caller checks
// int4KernelUnavailable() first.

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  int threads;
  bool int4_kernel;
  OrtSession *session;
  char *error;
} CreateJob;

// Our com.microsoft ops for a session: attention, with or without the int4 kernel; each domain
// made once for the process.
static OrtStatus *ops_domain(bool int4_kernel, OrtCustomOpDomain **out) {
  static OrtCustomOpDomain *with_int4, *attention_only;
  const OrtCustomOp *const ops[] = {attention_op(), matmul_nbits_op()};
  OrtCustomOpDomain **cache = int4_kernel ? &with_int4 : &attention_only;
  OrtStatus *status = custom_op_domain(cache, "com.microsoft", ops, int4_kernel ? 2 : 1);
  *out = *cache;
  return status;
}

static void create_execute(napi_env env_js, void *data) {
  (void)env_js;
  CreateJob *job = data;
  OrtSessionOptions *options = NULL;
  OrtStatus *status = ort.CreateSessionOptions(&options);
  if (!status) status = ort.SetSessionExecutionMode(options, EXECUTION_MODE_SEQUENTIAL);
  if (!status) status = ort.SetSessionGraphOptimizationLevel(options, GRAPH_OPTIMIZATION_ALL);
  if (!status) status = ort.SetInterOpNumThreads(options, 1);
  if (!status && job->threads > 0) status = ort.SetIntraOpNumThreads(options, job->threads);
  if (!status) {
    OrtCustomOpDomain *domain;
    status = ops_domain(job->int4_kernel, &domain);
    if (!status) status = ort.AddCustomOpDomain(options, domain);
  }
  if (!status) status = ort.CreateSession(env, job->path, options, &job->session);
  if (options) ort.ReleaseSessionOptions(options);
  job->error = status_message(status);
}

// Settles `deferred` with `error` (rejects) or `value`; frees `error`.
static void settle(napi_env env_js, napi_deferred deferred, char *error, napi_value value) {
  if (error) {
    napi_value message, exception;
    napi_create_string_utf8(env_js, error, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env_js, NULL, message, &exception);
    napi_reject_deferred(env_js, deferred, exception);
    free_message(error);
    return;
  }
  if (!value) napi_get_undefined(env_js, &value);
  napi_resolve_deferred(env_js, deferred, value);
}

static void create_complete(napi_env env_js, napi_status work_status, void *data) {
  (void)work_status;
  CreateJob *job = data;
  napi_value handle = NULL;
  if (!job->error) {
    // The handle owns the session until release() or garbage collection.
    Session *session = calloc(1, sizeof *session);
    if (session) session->ort = job->session;
    if (!session || napi_create_external(env_js, session, session_finalize, NULL, &handle) != napi_ok) {
      ort.ReleaseSession(job->session);
      free(session);
      job->error = copy_message(session ? "could not create the session handle" : out_of_memory);
    }
  }
  settle(env_js, job->deferred, job->error, handle);
  napi_delete_async_work(env_js, job->work);
  free(job->path);
  free(job);
}

static napi_value create_session(napi_env env_js, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(napi_get_cb_info(env_js, info, &argc, argv, NULL, NULL));
  if (!runtime_version) return napi_throw_error(env_js, NULL, "load() first"), NULL;
  size_t length;
  int threads;
  bool int4_kernel;
  NAPI_CALL(napi_get_value_string_utf8(env_js, argv[0], NULL, 0, &length));
  NAPI_CALL(napi_get_value_int32(env_js, argv[1], &threads));
  NAPI_CALL(napi_get_value_bool(env_js, argv[2], &int4_kernel));
  if (int4_kernel && matmul_nbits_unavailable()) return napi_throw_error(env_js, NULL, matmul_nbits_unavailable()), NULL;
  CreateJob *job = calloc(1, sizeof *job);
  if (job) job->path = malloc(length + 1);
  if (!job || !job->path) {
    free(job);
    return throw_out_of_memory(env_js);
  }
  job->threads = threads;
  job->int4_kernel = int4_kernel;
  napi_get_value_string_utf8(env_js, argv[0], job->path, length + 1, NULL);
  napi_value promise = queue_promise_work(env_js, "ort.createSession", create_execute, create_complete, job, &job->work, &job->deferred);
  if (!promise) {
    free(job->path);
    free(job);
  }
  return promise;
}

// releaseSession(session): no new run starts; the ONNX Runtime session goes when the last
// pending run has finished (now, when none is).
static napi_value release_session(napi_env env_js, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(napi_get_cb_info(env_js, info, &argc, argv, NULL, NULL));
  Session *session;
  NAPI_CALL(napi_get_value_external(env_js, argv[0], (void **)&session));
  session->released = true;
  session_release_if_idle(session);
  return NULL;
}

// ---- run(session, names, tensors, inputCount, segments) → Promise<void> ----
// names[i] and tensors[i] = [data: TypedArray, dims: number[]] describe the inputs first, then
// the outputs; every output is written into its typed array. The arrays stay referenced until
// the run ends, so the garbage collector cannot free memory ONNX Runtime is using. `segments`:
// null, or an Int32Array of (first slot, rows, seq) triples for attention (attention_op.c).

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  Session *session;
  napi_ref session_handle;
  size_t count, input_count;
  int32_t *segments;  // a copy, or NULL
  size_t segment_count;
  char **names;
  OrtValue **values;
  napi_ref *arrays;
  char *error;
} RunJob;

static void run_execute(napi_env env_js, void *data) {
  (void)env_js;
  RunJob *job = data;
  size_t inputs = job->input_count;
  if (job->segments) attention_pass_begin(job->segments, job->segment_count);
  job->error = status_message(ort.Run(job->session->ort, NULL, (const char *const *)job->names, (const OrtValue *const *)job->values,
                                      inputs, (const char *const *)job->names + inputs, job->count - inputs,
                                      job->values + inputs));
  attention_pass_end();
}

static void run_free(napi_env env_js, RunJob *job) {
  for (size_t i = 0; i < job->count; i++) {
    free(job->names[i]);
    if (job->values[i]) ort.ReleaseValue(job->values[i]);
    if (job->arrays[i]) napi_delete_reference(env_js, job->arrays[i]);
  }
  if (job->session_handle) {
    // This run held the session: the last one out releases it when release() came meanwhile.
    job->session->pending_runs--;
    session_release_if_idle(job->session);
    napi_delete_reference(env_js, job->session_handle);
  }
  if (job->work) napi_delete_async_work(env_js, job->work);
  free(job->names);
  free(job->values);
  free(job->arrays);
  free(job->segments);
  free(job);
}

static void run_complete(napi_env env_js, napi_status work_status, void *data) {
  (void)work_status;
  RunJob *job = data;
  settle(env_js, job->deferred, job->error, NULL);
  job->error = NULL;
  run_free(env_js, job);
}

static int element_type(napi_typedarray_type type, size_t *element_size) {
  switch (type) {
    case napi_float32_array: return *element_size = 4, ELEMENT_FLOAT;
    case napi_int32_array: return *element_size = 4, ELEMENT_INT32;
    case napi_bigint64_array: return *element_size = 8, ELEMENT_INT64;
    case napi_uint8_array: return *element_size = 1, ELEMENT_UINT8;
    case napi_int8_array: return *element_size = 1, ELEMENT_INT8;
    default: return -1;
  }
}

// Wraps tensors[i] = [data, dims] as an OrtValue over the typed array's memory; NULL on a thrown error.
static OrtValue *tensor_value(napi_env env_js, napi_value tensor, napi_ref *keep) {
  napi_value data, dims;
  if (napi_get_element(env_js, tensor, 0, &data) != napi_ok || napi_get_element(env_js, tensor, 1, &dims) != napi_ok) return throw_last(env_js), NULL;
  bool is_typed = false;
  napi_is_typedarray(env_js, data, &is_typed);
  if (!is_typed) return napi_throw_type_error(env_js, NULL, "tensor data must be a typed array"), NULL;
  napi_typedarray_type type;
  size_t length, element_size = 0;
  void *pointer;
  if (napi_get_typedarray_info(env_js, data, &type, &length, &pointer, NULL, NULL) != napi_ok) return throw_last(env_js), NULL;
  int element = element_type(type, &element_size);
  if (element < 0) return napi_throw_type_error(env_js, NULL, "unsupported typed array type"), NULL;
  uint32_t rank;
  if (napi_get_array_length(env_js, dims, &rank) != napi_ok || rank > 8) return napi_throw_type_error(env_js, NULL, "dims must be an array of up to 8 numbers"), NULL;
  int64_t shape[8];
  for (uint32_t d = 0; d < rank; d++) {
    napi_value dim;
    if (napi_get_element(env_js, dims, d, &dim) != napi_ok || napi_get_value_int64(env_js, dim, &shape[d]) != napi_ok) return throw_last(env_js), NULL;
  }
  OrtValue *value = NULL;
  OrtStatus *status = ort.CreateTensorWithDataAsOrtValue(cpu_memory, pointer, length * element_size, shape, rank, element, &value);
  if (status) return throw_status(env_js, status), NULL;
  if (napi_create_reference(env_js, data, 1, keep) != napi_ok) return ort.ReleaseValue(value), throw_last(env_js), NULL;
  return value;
}

static napi_value run(napi_env env_js, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(napi_get_cb_info(env_js, info, &argc, argv, NULL, NULL));
  Session *session;
  NAPI_CALL(napi_get_value_external(env_js, argv[0], (void **)&session));
  const int32_t *segments = NULL;
  size_t segment_values = 0;
  napi_valuetype segments_type = napi_undefined;
  if (argc == 5) NAPI_CALL(napi_typeof(env_js, argv[4], &segments_type));
  if (segments_type != napi_undefined && segments_type != napi_null) {
    napi_typedarray_type type;
    void *pointer;
    bool is_typed = false;
    napi_is_typedarray(env_js, argv[4], &is_typed);
    if (!is_typed) return napi_throw_type_error(env_js, NULL, "segments must be an Int32Array"), NULL;
    NAPI_CALL(napi_get_typedarray_info(env_js, argv[4], &type, &segment_values, &pointer, NULL, NULL));
    if (type != napi_int32_array || segment_values == 0 || segment_values % 3 != 0) return napi_throw_type_error(env_js, NULL, "segments must be an Int32Array of (slot, rows, seq) triples"), NULL;
    segments = pointer;
  }
  if (session->released) return napi_throw_error(env_js, NULL, "session released"), NULL;
  uint32_t count, tensor_count, input_count;
  NAPI_CALL(napi_get_array_length(env_js, argv[1], &count));
  NAPI_CALL(napi_get_array_length(env_js, argv[2], &tensor_count));
  NAPI_CALL(napi_get_value_uint32(env_js, argv[3], &input_count));
  if (tensor_count != count || input_count > count) return napi_throw_range_error(env_js, NULL, "names and tensors differ in length"), NULL;

  RunJob *job = calloc(1, sizeof *job);
  if (!job) return throw_out_of_memory(env_js);
  job->session = session;
  job->count = count;
  job->input_count = input_count;
  if (segments) {
    job->segments = malloc(segment_values * sizeof *segments);
    if (!job->segments) return free(job), throw_out_of_memory(env_js);
    memcpy(job->segments, segments, segment_values * sizeof *segments);
    job->segment_count = segment_values / 3;
  }
  // calloc(0) may return NULL: one spare entry keeps "NULL = out of memory" true.
  job->names = calloc(count + 1, sizeof *job->names);
  job->values = calloc(count + 1, sizeof *job->values);
  job->arrays = calloc(count + 1, sizeof *job->arrays);
  if (!job->names || !job->values || !job->arrays) {
    free(job->names), free(job->values), free(job->arrays), free(job->segments), free(job);
    return throw_out_of_memory(env_js);
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value name, tensor;
    size_t length;
    if (napi_get_element(env_js, argv[1], i, &name) != napi_ok || napi_get_value_string_utf8(env_js, name, NULL, 0, &length) != napi_ok ||
        napi_get_element(env_js, argv[2], i, &tensor) != napi_ok) {
      run_free(env_js, job);
      return throw_last(env_js);
    }
    job->names[i] = malloc(length + 1);
    if (!job->names[i]) {
      run_free(env_js, job);
      return throw_out_of_memory(env_js);
    }
    napi_get_value_string_utf8(env_js, name, job->names[i], length + 1, NULL);
    job->values[i] = tensor_value(env_js, tensor, &job->arrays[i]);
    if (!job->values[i]) {
      run_free(env_js, job);
      return NULL;
    }
  }
  if (napi_create_reference(env_js, argv[0], 1, &job->session_handle) != napi_ok) {
    run_free(env_js, job);
    return throw_last(env_js);
  }
  session->pending_runs++;
  napi_value promise = queue_promise_work(env_js, "ort.run", run_execute, run_complete, job, &job->work, &job->deferred);
  if (!promise) run_free(env_js, job);
  return promise;
}

// int4KernelUnavailable(): why our MatMulNBits kernel cannot run on this CPU, or null.
static napi_value int4_kernel_unavailable(napi_env env_js, napi_callback_info info) {
  (void)info;
  napi_value result;
  const char *reason = matmul_nbits_unavailable();
  if (reason) NAPI_CALL(napi_create_string_utf8(env_js, reason, NAPI_AUTO_LENGTH, &result));
  else NAPI_CALL(napi_get_null(env_js, &result));
  return result;
}

static napi_value init(napi_env env_js, napi_value exports) {
  const napi_property_descriptor methods[] = {
    {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
    {"createSession", NULL, create_session, NULL, NULL, NULL, napi_default, NULL},
    {"releaseSession", NULL, release_session, NULL, NULL, NULL, napi_default, NULL},
    {"run", NULL, run, NULL, NULL, NULL, napi_default, NULL},
    {"int4KernelUnavailable", NULL, int4_kernel_unavailable, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL(napi_define_properties(env_js, exports, sizeof methods / sizeof methods[0], methods));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
