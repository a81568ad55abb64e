// com.microsoft.GroupQueryAttention for the native runtime: our kernel (attention.c) where it
// takes the node, else ONNX Runtime's own CPU kernel; either runs once per *segment* of a
// forward pass, so that one pass can carry sequences in different
// phases — a decode step of the running streams and a chunk of a prompt being prefilled — whose
// tokens go through the graph's matrix products together and read the weights once. ONNX
// Runtime's kernel alone takes a batch of several rows only when they all add one token or
// none has a past (a rectangular [rows, seq] block over a window of KV slots); a segment is
// such a block, and this op lays each over its own slots of the cache.
//
// A pass without segments (attention_pass_begin not called) is one segment: the node's own
// inputs, as ONNX Runtime's kernel would take them. With segments, the graph's tokens are one
// row [1, T] and the KV cache is every slot: segment s covers tokens [t_s, t_s + rows·seq) of
// query, key, value, position_ids and the output, rows [r_s, r_s + rows) of seqlens_k, and
// slots [first, first + rows) of past and present (the same buffers: updated in place).
#include "attention_op.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "custom_op.h"

// GroupQueryAttention's inputs (contrib_defs): the ones our graphs use.
enum {
  INPUT_QUERY,
  INPUT_KEY,
  INPUT_VALUE,
  INPUT_PAST_KEY,
  INPUT_PAST_VALUE,
  INPUT_SEQLENS_K,
  INPUT_TOTAL_LENGTH,
  INPUT_COS,
  INPUT_SIN,
  INPUT_POSITION_IDS,
  INPUT_COUNT
};
enum { OUTPUT_ATTENTION, OUTPUT_PRESENT_KEY, OUTPUT_PRESENT_VALUE, OUTPUT_COUNT };

static const int input_types[INPUT_COUNT] = {ELEMENT_FLOAT, ELEMENT_FLOAT, ELEMENT_FLOAT, ELEMENT_FLOAT, ELEMENT_FLOAT,
                                             ELEMENT_INT32, ELEMENT_INT32, ELEMENT_FLOAT, ELEMENT_FLOAT, ELEMENT_INT64};

// The segments of the pass running on this thread (ONNX Runtime's sequential executor runs
// every node on the thread that called Run), or NULL.
static _Thread_local const int32_t *pass_segments;
static _Thread_local size_t pass_segment_count;

void attention_pass_begin(const int32_t *segments, size_t count) {
  pass_segments = segments;
  pass_segment_count = count;
}

void attention_pass_end(void) {
  pass_segments = NULL;
  pass_segment_count = 0;
}

typedef struct {
  OrtOp *gqa;  // ONNX Runtime's kernel, for what ours does not take
  int64_t heads, kv_heads;
  float scale;  // 0: 1 / √head_dim
  int rotary;   // do_rotary (its tables are inputs)
  int ours;     // attention.c may run the node (attention_supported decides per shape)
  int always;   // ...and runs every segment it takes, not only those where it is the faster
} Kernel;

static const char *op_name(const OrtCustomOp *op) { return (void)op, "GroupQueryAttention"; }
static int op_input_type(const OrtCustomOp *op, size_t i) { return (void)op, input_types[i]; }
static size_t op_input_count(const OrtCustomOp *op) { return (void)op, INPUT_COUNT; }
static int op_input_characteristic(const OrtCustomOp *op, size_t i) {
  return (void)op, i == INPUT_QUERY || i == INPUT_SEQLENS_K || i == INPUT_TOTAL_LENGTH ? REQUIRED : OPTIONAL;
}
static size_t op_output_count(const OrtCustomOp *op) { return (void)op, OUTPUT_COUNT; }

static OrtStatus *create_kernel(const OrtCustomOp *op, const void *api, const OrtKernelInfo *info, void **out) {
  (void)op, (void)api;
  // The node's attributes, handed on to ONNX Runtime's kernel as they are.
  static const char *const int_names[] = {"num_heads", "kv_num_heads", "do_rotary", "rotary_interleaved", "local_window_size", "smooth_softmax"};
  static const char *const float_names[] = {"scale", "softcap"};
  enum { MAX_ATTRS = sizeof int_names / sizeof *int_names + sizeof float_names / sizeof *float_names };
  // What the node asks that ours does not do sends it to ONNX Runtime's kernel.
  static const int64_t int_defaults[] = {0, 0, 0, 0, -1, 0};
  enum { NUM_HEADS, KV_NUM_HEADS, DO_ROTARY, ROTARY_INTERLEAVED, LOCAL_WINDOW_SIZE, SMOOTH_SOFTMAX };
  int64_t ints[sizeof int_names / sizeof *int_names];
  float floats[] = {0.0f, 0.0f};
  OrtOpAttr *attrs[MAX_ATTRS];
  int count = 0;
  OrtStatus *status = NULL;
  for (size_t i = 0; i < sizeof int_names / sizeof *int_names && !status; i++) {
    OrtStatus *absent = ort.KernelInfoGetAttribute_int64(info, int_names[i], &ints[i]);
    if (absent) ort.ReleaseStatus(absent), ints[i] = int_defaults[i];
    else if (!(status = ort.CreateOpAttr(int_names[i], &ints[i], 1, OP_ATTR_INT, &attrs[count]))) count++;
  }
  for (size_t i = 0; i < sizeof float_names / sizeof *float_names && !status; i++) {
    OrtStatus *absent = ort.KernelInfoGetAttribute_float(info, float_names[i], &floats[i]);
    if (absent) ort.ReleaseStatus(absent);
    else if (!(status = ort.CreateOpAttr(float_names[i], &floats[i], 1, OP_ATTR_FLOAT, &attrs[count]))) count++;
  }
  // XLLM_ATTENTION_KERNEL, read as a session is made, pins the kernel for measurements
  // (bench/attention.ts): xllm (ours wherever it takes the node) or onnxruntime; unset or auto:
  // the faster for each segment (ours_is_faster).
  const char *pinned = getenv("XLLM_ATTENTION_KERNEL");
  if (!pinned || !*pinned) pinned = "auto";
  if (!status && strcmp(pinned, "auto") && strcmp(pinned, "xllm") && strcmp(pinned, "onnxruntime")) {
    status = ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, "XLLM_ATTENTION_KERNEL must be auto, xllm or onnxruntime");
  }
  Kernel *kernel = NULL;
  if (!status && !(kernel = calloc(1, sizeof *kernel))) status = ort.CreateStatus(ORT_ERROR_FAIL, "out of memory");
  if (!status) {
    static const char *const type_names[] = {"T", "M"};
    static const int type_values[] = {ELEMENT_FLOAT, ELEMENT_INT32};
    status = ort.CreateOp(info, "GroupQueryAttention", "com.microsoft", 1, type_names, type_values, 2, (const OrtOpAttr *const *)attrs, count,
                          INPUT_COUNT, OUTPUT_COUNT, &kernel->gqa);
  }
  for (int i = 0; i < count; i++) ort.ReleaseOpAttr(attrs[i]);
  if (status) {
    free(kernel);
    return status;
  }
  kernel->heads = ints[NUM_HEADS];
  kernel->kv_heads = ints[KV_NUM_HEADS];
  kernel->scale = floats[0];
  kernel->rotary = ints[DO_ROTARY] != 0;
  kernel->ours = strcmp(pinned, "onnxruntime") && !ints[ROTARY_INTERLEAVED] && ints[LOCAL_WINDOW_SIZE] == -1 && !ints[SMOOTH_SOFTMAX] && floats[1] == 0.0f;
  kernel->always = !strcmp(pinned, "xllm");
  *out = kernel;
  return NULL;
}

static void destroy_kernel(void *opaque) {
  Kernel *kernel = opaque;
  ort.ReleaseOp(kernel->gqa);
  free(kernel);
}

static OrtMemoryInfo *memory_info;  // made once, kept for the process
static pthread_once_t memory_info_once = PTHREAD_ONCE_INIT;

static void make_memory_info(void) {
  OrtStatus *status = ort.CreateCpuMemoryInfo(ARENA_ALLOCATOR, MEM_TYPE_DEFAULT, &memory_info);
  if (status) ort.ReleaseStatus(status), memory_info = NULL;
}

static OrtMemoryInfo *cpu_memory(void) {
  pthread_once(&memory_info_once, make_memory_info);
  return memory_info;
}

// A tensor over `data` (element size `size`) of shape `dims`, or NULL for no data.
static OrtStatus *view(void *data, size_t size, int type, const int64_t *dims, size_t rank, OrtValue **out) {
  *out = NULL;
  if (!data) return NULL;
  size_t elements = 1;
  for (size_t d = 0; d < rank; d++) elements *= (size_t)dims[d];
  OrtMemoryInfo *memory = cpu_memory();
  if (!memory) return ort.CreateStatus(ORT_ERROR_FAIL, "xllm GroupQueryAttention: no CPU memory info");
  return ort.CreateTensorWithDataAsOrtValue(memory, data, elements * size, dims, rank, type, out);
}

// One segment: `rows` × `seq` tokens from token `token`, rows from `row`, slots from `slot`.
typedef struct {
  int64_t slot, rows, seq, token, row;
} Segment;

typedef struct {
  const float *query, *key, *value;  // [tokens, width] each (key, value: NULL when packed in query)
  int64_t query_width, kv_width, out_width;
  float *past_key, *past_value;  // [slots, kv heads, capacity, head dim]
  int64_t slot_stride, kv_heads, capacity, head_dim;
  const int32_t *seqlens_k;
  const int32_t *total_length;  // the node's own (one segment), or NULL: each segment's longest row
  const OrtValue *cos, *sin;
  const int64_t *position_ids;  // [tokens], or NULL
  float *output;                // [tokens, out_width]
  AttentionShape shape;         // for attention.c; shape.heads == 0: ONNX Runtime's kernel runs the pass
} Pass;

// Segment `s` on attention.c.
static OrtStatus *run_ours(OrtKernelContext *context, const Pass *p, Segment s) {
  int32_t totals[s.rows];
  for (int64_t r = 0; r < s.rows; r++) totals[r] = p->seqlens_k[s.row + r] + 1;
  const int64_t heads = p->shape.heads, kv_heads = p->shape.kv_heads, d = p->shape.head_dim;
  const float *q = p->query + s.token * p->query_width;
  AttentionBlock block = {
    .rows = s.rows, .seq = s.seq, .q = q, .q_stride = p->query_width, .out = p->output + s.token * p->out_width, .out_stride = p->out_width,
    .key_cache = p->past_key + s.slot * p->slot_stride, .value_cache = p->past_value + s.slot * p->slot_stride, .capacity = p->capacity,
    .totals = totals, .positions = p->position_ids ? p->position_ids + s.token : NULL,
  };
  if (p->key) {
    block.k = p->key + s.token * p->kv_width, block.v = p->value + s.token * p->kv_width, block.kv_stride = p->kv_width;
  } else {  // packed: each token's q heads, then its k heads, then its v heads
    block.k = q + heads * d, block.v = q + (heads + kv_heads) * d, block.kv_stride = p->query_width;
  }
  int failed = attention_run(&p->shape, &block, custom_op_parallel_for, context);
  if (failed == -1) return ort.CreateStatus(ORT_ERROR_FAIL, "xllm GroupQueryAttention: out of memory");
  if (failed) return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, "xllm GroupQueryAttention: a position outside the KV cache or the rotary tables");
  return NULL;
}

// Whether attention.c is the faster kernel for a segment whose longest row ends at `total`, as
// bench/attention.ts measures it on bench-0.5b (2 threads, ms a pass, ours against ONNX
// Runtime's): ours reads each key once for all the query heads that share it, which wins on
// decode steps (1 row at 4,000 positions: 22.7 against 30.7; 3 rows at 2,000: 29.6 against
// 40.3), short chunks (4 tokens at 4,000: 35.9 against 45.4; 16 at 2,000: 80.3 against 81.8)
// and a prompt's first chunks (512 tokens at 0: 766 against 903; at 512: 907 against 1,069);
// ONNX Runtime's batched matrix products win on longer chunks after a long context (64 tokens
// at 4,000: 290.6 against 256.3; 512 at 3,500: 1,830 against 1,773).
static int ours_is_faster(Segment s, int32_t total) { return s.seq <= 16 || total <= 2 * s.seq; }

static OrtStatus *run_segment(const Kernel *kernel, OrtKernelContext *context, const Pass *p, Segment s) {
  int32_t total = 0;
  for (int64_t r = 0; r < s.rows; r++)
    if (p->seqlens_k[s.row + r] + 1 > total) total = p->seqlens_k[s.row + r] + 1;
  if (p->shape.heads && (kernel->always || ours_is_faster(s, total))) return run_ours(context, p, s);
  if (p->total_length) total = *p->total_length;
  const int64_t q_dims[] = {s.rows, s.seq, p->query_width}, kv_dims[] = {s.rows, s.seq, p->kv_width}, out_dims[] = {s.rows, s.seq, p->out_width};
  const int64_t cache_dims[] = {s.rows, p->kv_heads, p->capacity, p->head_dim}, row_dims[] = {s.rows}, token_dims[] = {s.rows, s.seq};
  const size_t cache_offset = (size_t)(s.slot * p->slot_stride);
  OrtValue *in[INPUT_COUNT] = {0}, *out[OUTPUT_COUNT] = {0};
  OrtStatus *status = view((void *)(p->query + s.token * p->query_width), 4, ELEMENT_FLOAT, q_dims, 3, &in[INPUT_QUERY]);
  if (!status && p->key) status = view((void *)(p->key + s.token * p->kv_width), 4, ELEMENT_FLOAT, kv_dims, 3, &in[INPUT_KEY]);
  if (!status && p->value) status = view((void *)(p->value + s.token * p->kv_width), 4, ELEMENT_FLOAT, kv_dims, 3, &in[INPUT_VALUE]);
  if (!status) status = view(p->past_key + cache_offset, 4, ELEMENT_FLOAT, cache_dims, 4, &in[INPUT_PAST_KEY]);
  if (!status) status = view(p->past_value + cache_offset, 4, ELEMENT_FLOAT, cache_dims, 4, &in[INPUT_PAST_VALUE]);
  if (!status) status = view((void *)(p->seqlens_k + s.row), 4, ELEMENT_INT32, row_dims, 1, &in[INPUT_SEQLENS_K]);
  if (!status) status = view(&total, 4, ELEMENT_INT32, NULL, 0, &in[INPUT_TOTAL_LENGTH]);
  if (!status && p->position_ids) status = view((void *)(p->position_ids + s.token), 8, ELEMENT_INT64, token_dims, 2, &in[INPUT_POSITION_IDS]);
  if (!status) status = view(p->output + s.token * p->out_width, 4, ELEMENT_FLOAT, out_dims, 3, &out[OUTPUT_ATTENTION]);
  // Present is past: ONNX Runtime's kernel sees the shared buffer and appends in place.
  if (!status) status = view(p->past_key + cache_offset, 4, ELEMENT_FLOAT, cache_dims, 4, &out[OUTPUT_PRESENT_KEY]);
  if (!status) status = view(p->past_value + cache_offset, 4, ELEMENT_FLOAT, cache_dims, 4, &out[OUTPUT_PRESENT_VALUE]);
  if (!status) {
    const OrtValue *inputs[INPUT_COUNT];
    for (int i = 0; i < INPUT_COUNT; i++) inputs[i] = in[i];
    inputs[INPUT_COS] = p->cos;
    inputs[INPUT_SIN] = p->sin;
    status = ort.InvokeOp(context, kernel->gqa, inputs, INPUT_COUNT, out, OUTPUT_COUNT);
  }
  for (int i = 0; i < INPUT_COUNT; i++)
    if (in[i]) ort.ReleaseValue(in[i]);
  for (int i = 0; i < OUTPUT_COUNT; i++)
    if (out[i]) ort.ReleaseValue(out[i]);
  return status;
}

// The shape attention.c runs this node with, or shape->heads = 0 when it does not take it.
static OrtStatus *our_shape(const Kernel *kernel, OrtKernelContext *context, size_t inputs, int64_t head_dim, AttentionShape *shape) {
  *shape = (AttentionShape){0};
  if (!kernel->ours) return NULL;
  AttentionShape s = {.heads = kernel->heads, .kv_heads = kernel->kv_heads, .head_dim = head_dim, .scale = kernel->scale};
  if (s.scale == 0.0f) s.scale = 1.0f / sqrtf((float)head_dim);
  if (kernel->rotary) {
    int64_t dims[8];
    size_t rank;
    OrtStatus *status;
    if ((status = custom_op_input_data(context, inputs, INPUT_COS, (const void **)&s.cos)) || (status = custom_op_input_data(context, inputs, INPUT_SIN, (const void **)&s.sin))) return status;
    if (!s.cos || !s.sin) return NULL;  // ONNX Runtime's kernel says what is missing
    if ((status = custom_op_input_shape(context, INPUT_COS, dims, &rank))) return status;
    if (rank != 2 || dims[1] != head_dim / 2) return NULL;
    s.rotary_positions = dims[0];
  }
  if (attention_supported(&s)) *shape = s;
  return NULL;
}

static OrtStatus *input_value(OrtKernelContext *context, size_t count, size_t index, const OrtValue **value) {
  *value = NULL;
  return index < count ? ort.KernelContext_GetInput(context, index, value) : NULL;
}

static OrtStatus *compute(void *opaque, OrtKernelContext *context) {
  const Kernel *kernel = opaque;
  size_t inputs;
  OrtStatus *status = ort.KernelContext_GetInputCount(context, &inputs);
  if (status) return status;
  if (inputs <= INPUT_PAST_VALUE) return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, "xllm GroupQueryAttention: the KV cache inputs are missing");
  int64_t q[8], kv[8], cache[8];
  size_t q_rank, kv_rank = 0, cache_rank;
  const void *key, *value, *past_key, *past_value, *seqlens, *total, *positions, *query;
  if ((status = custom_op_input_shape(context, INPUT_QUERY, q, &q_rank)) || (status = custom_op_input_shape(context, INPUT_PAST_KEY, cache, &cache_rank)) ||
      (status = custom_op_input_data(context, inputs, INPUT_QUERY, &query)) || (status = custom_op_input_data(context, inputs, INPUT_KEY, &key)) ||
      (status = custom_op_input_data(context, inputs, INPUT_VALUE, &value)) || (status = custom_op_input_data(context, inputs, INPUT_PAST_KEY, &past_key)) ||
      (status = custom_op_input_data(context, inputs, INPUT_PAST_VALUE, &past_value)) ||
      (status = custom_op_input_data(context, inputs, INPUT_SEQLENS_K, &seqlens)) ||
      (status = custom_op_input_data(context, inputs, INPUT_TOTAL_LENGTH, &total)) ||
      (status = custom_op_input_data(context, inputs, INPUT_POSITION_IDS, &positions))) {
    return status;
  }
  if (q_rank != 3 || cache_rank != 4) return custom_op_fail("xllm GroupQueryAttention: query of rank %lld (3 expected), the KV cache of rank 4", (int64_t)q_rank);
  if (key && (status = custom_op_input_shape(context, INPUT_KEY, kv, &kv_rank))) return status;
  int64_t num_heads, kv_heads = cache[1], head_dim = cache[3];
  const int64_t tokens = q[0] * q[1];
  Pass p = {
    .query = query, .key = key, .value = value, .query_width = q[2], .kv_width = key ? kv[kv_rank - 1] : 0,
    .past_key = (float *)past_key, .past_value = (float *)past_value,
    .slot_stride = cache[1] * cache[2] * cache[3], .kv_heads = kv_heads, .capacity = cache[2], .head_dim = head_dim,
    .seqlens_k = seqlens, .total_length = pass_segments ? NULL : total, .position_ids = positions,
  };
  // The output's width: query's heads (packed: what is left after key's and value's).
  num_heads = key ? q[2] / head_dim : q[2] / head_dim - 2 * kv_heads;
  p.out_width = num_heads * head_dim;
  if ((status = input_value(context, inputs, INPUT_COS, &p.cos)) || (status = input_value(context, inputs, INPUT_SIN, &p.sin))) return status;
  if ((status = our_shape(kernel, context, inputs, head_dim, &p.shape))) return status;
  OrtValue *output, *present_key, *present_value;
  const int64_t out_dims[] = {q[0], q[1], p.out_width};
  void *data;
  if ((status = ort.KernelContext_GetOutput(context, OUTPUT_ATTENTION, out_dims, 3, &output)) || (status = ort.GetTensorMutableData(output, &data))) return status;
  p.output = data;
  // The present outputs are the past buffers (fed and fetched as one array): asked for so that
  // ONNX Runtime hands them over, written through the past pointers.
  if ((status = ort.KernelContext_GetOutput(context, OUTPUT_PRESENT_KEY, cache, 4, &present_key)) ||
      (status = ort.KernelContext_GetOutput(context, OUTPUT_PRESENT_VALUE, cache, 4, &present_value))) {
    return status;
  }
  void *present_key_data, *present_value_data;
  if ((status = ort.GetTensorMutableData(present_key, &present_key_data)) || (status = ort.GetTensorMutableData(present_value, &present_value_data))) return status;
  if (present_key_data != past_key || present_value_data != past_value) {
    return ort.CreateStatus(ORT_ERROR_INVALID_ARGUMENT, "xllm GroupQueryAttention: present and past must be the same buffers (the KV cache is updated in place)");
  }
  if (!pass_segments) return run_segment(kernel, context, &p, (Segment){.slot = 0, .rows = q[0], .seq = q[1], .token = 0, .row = 0});
  // Segments: checked against the tensors before any is laid over them.
  if (q[0] != 1) return custom_op_fail("xllm GroupQueryAttention: a segmented pass takes its tokens as one row, not %lld", q[0]);
  int64_t token = 0, row = 0;
  for (size_t i = 0; i < pass_segment_count; i++) {
    const int32_t *s = pass_segments + 3 * i;
    if (s[0] < 0 || s[1] < 1 || s[2] < 1 || s[0] + s[1] > cache[0]) return custom_op_fail("xllm GroupQueryAttention: segment %lld is outside the KV cache", (int64_t)i);
    token += (int64_t)s[1] * s[2];
    row += s[1];
  }
  if (token != tokens) return custom_op_fail("xllm GroupQueryAttention: the segments cover %lld tokens, not the pass's", token);
  token = row = 0;
  for (size_t i = 0; i < pass_segment_count && !status; i++) {
    const int32_t *s = pass_segments + 3 * i;
    status = run_segment(kernel, context, &p, (Segment){.slot = s[0], .rows = s[1], .seq = s[2], .token = token, .row = row});
    token += (int64_t)s[1] * s[2];
    row += s[1];
  }
  return status;
}

static const OrtCustomOp attention = {
  CUSTOM_OP_COMMON_FIELDS,
  .GetName = op_name,
  .GetInputType = op_input_type,
  .GetInputTypeCount = op_input_count,
  .GetInputCharacteristic = op_input_characteristic,
  .GetOutputTypeCount = op_output_count,
  .CreateKernelV2 = create_kernel,
  .KernelComputeV2 = compute,
  .KernelDestroy = destroy_kernel,
};

const OrtCustomOp *attention_op(void) { return &attention; }
