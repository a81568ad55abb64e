// The engine's public entry point: everything an embedder (and our own server/) uses. The
// tokenizer alone is also reachable as `xllm-ts/tokenizer` (src/tokenizer/index.ts), which
// loads no ONNX Runtime.
export { Tokenizer, IncrementalDecoder } from './tokenizer/index.ts';
export type { ChatMessage, ChatContentPart, ChatTemplateOptions, EncodeOptions, DecodeOptions } from './tokenizer/index.ts';
export { VERSION } from './package.ts';
export { Engine } from './engine/engine.ts';
export { MAX_SAMPLE_LOGPROBS } from './engine/validate.ts';
export { EngineError, type EngineErrorCode } from './engine/errors.ts';
export type {
  BeamParams,
  Device,
  EmbeddingInfo,
  EmbeddingPooling,
  EmbedRequest,
  EmbedResult,
  EngineObserver,
  EngineOptions,
  EngineStats,
  FinishReason,
  GeneratedToken,
  GenerationEvent,
  GenerationRequest,
  InferenceEngine,
  SampleMatch,
  SampleRequest,
  SampleResult,
  TopLogprob,
  Usage,
  VisionInfo,
} from './engine/types.ts';
export type { Int4Kernel, Int4KernelChoice, Int4KernelUse, Runtime, RuntimeChoice } from './engine/graph-session.ts';
export { hasVision, readManifest, type ModelManifest } from './model/manifest.ts';
export { compileConstraint, ConstraintError, type ConstraintSpec, type ToolCallSyntax, type ToolSpec } from './constraint/index.ts';
export {
  samplingParams,
  validateSamplingParams,
  SamplingParamError,
  MAX_STOP_STRINGS,
  MAX_TOP_LOGPROBS,
  type SamplingParams,
} from './sampling/params.ts';
export {
  VisionInputError,
  decodeImage,
  preprocessImage,
  loadImageProcessorConfig,
  expandImagePads,
  mropePositions,
  resolveImageUrl,
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MEDIA_TIMEOUT_MS,
  type ImageProcessorConfig,
  type MediaPolicy,
  type PreparedImage,
  type RgbImage,
} from './vision/index.ts';
