// The engine's public entry point.
export { Tokenizer, IncrementalDecoder } from './tokenizer/index.ts';
export type { ChatMessage, ChatContentPart, ChatTemplateOptions, EncodeOptions, DecodeOptions } from './tokenizer/index.ts';
export { Engine } from './engine/engine.ts';
export { EngineError, type EngineErrorCode } from './engine/errors.ts';
export type {
  BeamParams,
  Device,
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
export type { Runtime, RuntimeChoice } from './engine/graph-session.ts';
export { samplingParams, validateSamplingParams, type SamplingParams } from './sampling/params.ts';
export {
  VisionInputError,
  decodeImage,
  preprocessImage,
  loadImageProcessorConfig,
  expandImagePads,
  mropePositions,
  resolveImageUrl,
  type ImageProcessorConfig,
  type MediaPolicy,
  type PreparedImage,
  type RgbImage,
} from './vision/index.ts';
