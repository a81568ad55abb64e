// The engine's public request/response shapes. They know nothing of HTTP: the server maps
// API fields onto them (server/protocol/*) and maps events back onto API responses.
import type { SamplingDefaults } from '../model/generation-config.ts';
import type { ConstraintSpec } from '../constraint/index.ts';
import type { SamplingParams } from '../sampling/params.ts';
import type { Int4KernelChoice, RuntimeChoice } from './graph-session.ts';
import type { ImageProcessorConfig } from '../vision/config.ts';
import type { PreparedImage } from '../vision/types.ts';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';

export interface EngineOptions {
  device?: Device;
  /** Intra-op threads for ONNX Runtime (default: the CPUs this process may run on, os.availableParallelism()). */
  threads?: number;
  /**
   * What runs the text graph: 'native', the project's addon over ONNX Runtime's C API (CPU
   * only; copies nothing between steps); 'onnxruntime-node', its JS binding. Default 'auto':
   * native on the cpu device when the addon is built, else onnxruntime-node.
   */
  runtime?: RuntimeChoice;
  /**
   * What multiplies by a model's int4 weights (MatMulNBits) on the native runtime: 'xllm', the
   * project's kernel (CPUs with AVX-512 VNNI; about twice ONNX Runtime's speed on prompts, level
   * on decode steps); 'onnxruntime', ONNX Runtime's own. Default 'auto': xllm's where the CPU
   * can run it, else ONNX Runtime's (Engine.int4Kernel says which, and why).
   */
  int4Kernel?: Int4KernelChoice;
  /** KV slots = rows decoded together (default 8). */
  maxBatchSize?: number;
  /** Tokens per slot, prompt + output (default: the model's max positions, capped at 4096). */
  maxModelLen?: number;
  /** Requests allowed to wait for a slot before `RESOURCE_EXHAUSTED` (default 1024). */
  maxQueueLength?: number;
  enablePrefixCache?: boolean;
  /** Prompt tokens per prefill forward pass, between decode steps (default 512). */
  prefillChunkTokens?: number;
  /**
   * On the native runtime (text models), a prompt arriving while streams decode is prefilled
   * inside their decode steps, a chunk each step, sized so that a step takes at most this many
   * times a decode-only step (default 1.5): the streams keep their pace, the prompt's first
   * token comes later than alone. 0: the prompt goes in chunks of prefillChunkTokens between the
   * steps instead, each stalling the streams for its whole length.
   */
  maxDecodeSlowdown?: number;
  /**
   * How long the KV buffers may stay larger than the sequences need before they shrink, on the
   * native runtime (default 30 s; onnxruntime-node, which copies them every step, shrinks at
   * once): requests one after another reuse them instead of resizing twice each.
   */
  kvShrinkDelaySeconds?: number;
  /** Receives timings for the server's metrics; never prompt or completion text. */
  observer?: EngineObserver;
}

export interface EngineObserver {
  onQueued?(requestId: string, seconds: number): void;
  onFirstToken?(requestId: string, seconds: number): void;
  onInterToken?(requestId: string, seconds: number): void;
  onFinished?(requestId: string, info: { seconds: number; promptTokens: number; completionTokens: number; cachedTokens: number }): void;
  /** One forward pass: `tokens` prompt tokens prefilled, rows decoded, or both ('mixed'); `seconds` inside the model. */
  onForward?(info: { kind: 'prefill' | 'decode' | 'mixed'; tokens: number; seconds: number }): void;
  /** A forward pass failed; its `requests` are retried alone when there are several, else fail. */
  onForwardFailed?(info: { requests: number }): void;
}

export interface BeamParams {
  width: number;
  /** Candidates each live beam proposes per step (≥ 1; API default: the width). */
  candidatesPerBeam: number;
  /** score / len^lengthPenalty when set; plain cumulative logprob otherwise. */
  lengthPenalty?: number;
}

export interface GenerationRequest {
  requestId: string;
  /**
   * With images: each image's `<|image_pad|>` already expanded to its `tokenCount` pads
   * (`expandImagePads`), so the prompt holds every token the model sees.
   */
  promptTokens: number[];
  /** Images of a vision-language model's prompt, in the order of their pad blocks. */
  images?: PreparedImage[];
  sampling: SamplingParams;
  /** Undefined: until EOS or the end of the context. */
  maxTokens?: number;
  stop?: string[];
  stopTokenIds?: number[];
  ignoreEos?: boolean;
  includeStopStrInOutput?: boolean;
  skipSpecialTokens?: boolean;
  /** Choices returned (default 1); with beam search, the best n beams (default: all `beam.width`). */
  n?: number;
  /** Sequences generated to pick the n best by mean logprob from (≥ n). */
  bestOf?: number;
  /** Top logprobs per generated token: undefined = none, 0 = only the chosen token's. */
  logprobs?: number;
  /** Same for the prompt's tokens (completions `echo` with `logprobs`). */
  promptLogprobs?: number;
  /**
   * Token ids whose raw log_softmax each generated token also reports, whatever is drawn, in
   * GeneratedToken.scores: a reranker's "yes" and "no" after its prompt. Not with beam search.
   */
  scoreTokenIds?: number[];
  beam?: BeamParams;
  /**
   * What the output must be (a JSON Schema, any JSON object, a regular expression, a choice):
   * tokens that would leave it are masked before sampling, each beam and choice alike. Its
   * logprobs are then those of the constrained distribution.
   */
  constraint?: ConstraintSpec;
  /**
   * The constraint starts after this text (a reasoning model's `</think>`): what comes before
   * is free, and a few blanks may follow it. Output that never writes it is not constrained.
   */
  constraintAfter?: string;
}

export interface TopLogprob {
  tokenId: number;
  logprob: number;
}

export interface GeneratedToken {
  tokenId: number;
  /** Raw model log_softmax of the token; present when logprobs were asked for. */
  logprob?: number;
  top?: TopLogprob[];
  /** Raw log_softmax of GenerationRequest.scoreTokenIds at this position, in their order. */
  scores?: TopLogprob[];
}

export type FinishReason = 'stop' | 'length';

export type GenerationEvent =
  /** First event: the prompt was admitted and prefilled. */
  | { type: 'prompt'; promptTokens: number; cachedTokens: number; promptLogprobs?: Array<GeneratedToken | null> }
  /** New tokens of one choice and the text they complete (never a split UTF-8 character; may be ''). */
  | { type: 'delta'; index: number; text: string; tokens: GeneratedToken[] }
  /** A choice ended; `text` is the last text held back until now (may be ''); `stop`: the stop string that ended it. */
  | { type: 'finish'; index: number; reason: FinishReason; text: string; stop?: string }
  /** Last event. */
  | { type: 'usage'; usage: Usage };

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export interface SampleRequest {
  requestId: string;
  prompt: string;
  /** The literal to match (docs/API.md `/v1/sample`). */
  selector: string;
  /** Top logprobs per match, 1..5. */
  logprobs: number;
}

export type EmbeddingPooling = 'last' | 'mean';

/** A text to embed, on a model converted for embeddings (`Engine.embedding` is set). */
export interface EmbedRequest {
  requestId: string;
  /** The text's tokens, special tokens included as the model expects them. */
  promptTokens: number[];
  /** 'last': the hidden state of the last token; 'mean': the mean over all tokens. Default: the model's. */
  pooling?: EmbeddingPooling;
  /** Scale the vector to unit length (after truncation to `dimensions`). Default: the model's. */
  normalize?: boolean;
  /** Keep the leading `dimensions` components (a Matryoshka embedding); default all (the hidden size). */
  dimensions?: number;
}

export interface EmbedResult {
  embedding: Float32Array;
  promptTokens: number;
}

/** What an embedding model offers (Engine.embedding). */
export interface EmbeddingInfo {
  /** Components of a full vector: the hidden size. */
  size: number;
  /** The model's defaults (from its sentence-transformers config at conversion). */
  pooling: EmbeddingPooling;
  normalize: boolean;
}

export interface SampleMatch {
  /** Token position of the match in the prompt. */
  position: number;
  /** Top `logprobs` of the raw log_softmax predicting that position, highest first; empty at position 0. */
  top: TopLogprob[];
}

export interface SampleResult {
  promptTokens: number;
  matches: SampleMatch[];
}

export interface EngineStats {
  running: number;
  waiting: number;
  /** KV slots (maxBatchSize), each holding up to maxModelLen tokens. */
  slots: number;
  slotsUsedRatio: number;
  prefixCacheHits: number;
  /** Bytes the KV buffers hold now (they follow the longest sequence; 0 while asleep). */
  kvCacheBytes: number;
  sleeping: false | 1 | 2;
}

/** What a vision-language model needs of its caller to take images. */
export interface VisionInfo {
  /** Preprocessing settings for `preprocessImage` (the model's preprocessor_config.json). */
  processor: ImageProcessorConfig;
  /** Token ids of <|vision_start|>, <|vision_end|> and <|image_pad|>. */
  tokens: { visionStart: number; visionEnd: number; imagePad: number };
}

/**
 * What the server needs of an engine (`Engine` in engine.ts implements it). The tokenizer is
 * the model's own: the server renders chat templates and counts tokens with it.
 */
export interface InferenceEngine {
  readonly tokenizer: import('../tokenizer/tokenizer.ts').Tokenizer;
  /** Tokens per sequence, prompt + output. */
  readonly maxModelLen: number;
  /** Set on a vision-language model (`images` accepted); null on a text model. */
  readonly vision: VisionInfo | null;
  /** The model's sampling defaults (generation_config.json) for fields a request omits. */
  readonly samplingDefaults: SamplingDefaults;
  /** The model family's chat formats (xllm.json): the names of its tool-call and reasoning parsers. */
  readonly chatFormats: { toolCallParser?: string; reasoningParser?: string };
  /**
   * Set on a model converted for embeddings (`xllm convert --task embed`): it serves embed()
   * and nothing else. Null on a generative model, which serves everything but embed().
   */
  readonly embedding: EmbeddingInfo | null;
  generate(request: GenerationRequest, options?: { signal?: AbortSignal }): AsyncIterable<GenerationEvent>;
  sample(request: SampleRequest): Promise<SampleResult>;
  embed(request: EmbedRequest, options?: { signal?: AbortSignal }): Promise<EmbedResult>;
  sleep(level: 1 | 2): Promise<void>;
  wakeUp(): Promise<void>;
  stats(): EngineStats;
  close(): Promise<void>;
}
