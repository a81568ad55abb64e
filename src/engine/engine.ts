// The embeddable engine: `Engine.load(dir)` then `generate()` / `sample()`, or `embed()` on a
// model converted for embeddings. It owns the model's tokenizer, the ONNX session(s) with the
// KV slots, the sampler and the step loop. On a Qwen2.5-VL model, `generate()` also takes
// images (prompt pads expanded by the caller).
import { availableParallelism } from 'node:os';
import { readSamplingDefaults, type SamplingDefaults } from '../model/generation-config.ts';
import { hasVision, readManifest } from '../model/manifest.ts';
import { matchSelector } from '../sampling/selector.ts';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import { loadImageProcessorConfig } from '../vision/config.ts';
import type { PreparedImage } from '../vision/types.ts';
import { Channel } from './channel.ts';
import { Decoding } from './decoding.ts';
import { EngineError } from './errors.ts';
import { ModelRunner } from './model-runner.ts';
import type { Int4KernelUse, Runtime } from './graph-session.ts';
import { Phase, type EmbedRequestState, type GenerateRequestState, type SampleRequestState } from './requests.ts';
import { Scheduler } from './scheduler.ts';
import type {
  EmbeddingInfo,
  EmbedRequest,
  EmbedResult,
  EngineOptions,
  EngineStats,
  GenerationEvent,
  GenerationRequest,
  InferenceEngine,
  SampleRequest,
  SampleResult,
  VisionInfo,
} from './types.ts';
import { checkConstraint, checkEmbedRequest, checkGenerationRequest, checkSampleRequest, type RequestLimits } from './validate.ts';
import { visionPrompt, type VisionPrompt } from './vision-prompt.ts';

const DEFAULT_SLOTS = 8;
const DEFAULT_MAX_MODEL_LEN = 4096;
const DEFAULT_KV_SHRINK_DELAY_SECONDS = 30;
const DEFAULT_QUEUE = 1024;
const PREFILL_CHUNK = 512;
/** EngineOptions.maxDecodeSlowdown: a stream's step at most 1.5× while a prompt is prefilled in it. */
const DEFAULT_MAX_DECODE_SLOWDOWN = 1.5;
/** Logits rows the sampler holds: a decode batch, or a chunk of prompt positions. */
const MIN_LOGITS_ROWS = 64;

export class Engine implements InferenceEngine {
  private sleeping: false | 1 | 2 = false;

  private constructor(
    readonly tokenizer: Tokenizer,
    readonly maxModelLen: number,
    /** The execution provider in use (cpu, cuda, webgpu). */
    readonly device: string,
    /** Why that one: asked for, or what `auto` passed over. */
    readonly deviceReason: string,
    /** What runs the text graph (EngineOptions.runtime). */
    readonly runtime: Runtime,
    /** What runs the int4 products (EngineOptions.int4Kernel), and why; null for a model without int4 weights. */
    readonly int4Kernel: Int4KernelUse | null,
    /** ONNX Runtime's intra-op threads (EngineOptions.threads). */
    readonly threads: number,
    readonly vision: VisionInfo | null,
    /** Sampling defaults from the model's generation_config.json, for fields a request omits. */
    readonly samplingDefaults: SamplingDefaults,
    /** The model family's chat formats, from xllm.json. */
    readonly chatFormats: { toolCallParser?: string; reasoningParser?: string },
    /** Set on a model converted for embeddings: embed() serves, generate() and sample() refuse. */
    readonly embedding: EmbeddingInfo | null,
    private readonly runner: ModelRunner,
    private readonly scheduler: Scheduler,
  ) {}

  static async load(modelDir: string, options: EngineOptions = {}): Promise<Engine> {
    const manifest = readManifest(modelDir);
    const samplingDefaults = readSamplingDefaults(modelDir);
    const slots = options.maxBatchSize ?? DEFAULT_SLOTS;
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`maxBatchSize must be a positive integer, got ${slots}`);
    // Said outright: ONNX Runtime's own default counts physical cores, and on VMs that report
    // each vCPU as a core of one package it settles on 1 (bench-0.5b int4 decoded 50 tok/s
    // instead of 66 on this project's 2-vCPU machine).
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    const maxModelLen = Math.min(options.maxModelLen ?? DEFAULT_MAX_MODEL_LEN, manifest.maxPositionEmbeddings);
    const slowdown = options.maxDecodeSlowdown ?? DEFAULT_MAX_DECODE_SLOWDOWN;
    if (!(slowdown === 0 || slowdown > 1)) throw new Error(`maxDecodeSlowdown must be 0 (no mixed passes) or more than 1, got ${slowdown}`);
    const [tokenizer, runner, decoding] = await Promise.all([
      Tokenizer.load(modelDir),
      ModelRunner.load(modelDir, manifest, {
        device: options.device ?? 'cpu',
        threads,
        runtime: options.runtime ?? 'auto',
        int4Kernel: options.int4Kernel ?? 'auto',
        slots,
        maxLength: maxModelLen,
      }),
      Decoding.create(manifest.vocabSize, Math.max(slots, MIN_LOGITS_ROWS)),
    ]);
    decoding.setVocabulary(
      { usableBytes: (id) => (tokenizer.hasId(id) && !tokenizer.isSpecial(id) ? tokenizer.tokenBytes(id) : null) },
      tokenizer.eosTokenIds,
    );
    const vision = hasVision(manifest) ? { processor: loadImageProcessorConfig(modelDir), tokens: { ...manifest.vision.tokens } } : null;
    const scheduler = new Scheduler(runner, decoding, tokenizer, {
      slots,
      maxModelLen,
      maxQueueLength: options.maxQueueLength ?? DEFAULT_QUEUE,
      prefixCache: options.enablePrefixCache ?? false,
      prefillChunk: options.prefillChunkTokens ?? PREFILL_CHUNK,
      maxDecodeSlowdown: slowdown,
      // onnxruntime-node copies the whole cache every run: there it shrinks at once.
      kvShrinkDelayMs: runner.runtime === 'native' ? (options.kvShrinkDelaySeconds ?? DEFAULT_KV_SHRINK_DELAY_SECONDS) * 1000 : 0,
      observer: options.observer,
    });
    const embedding = manifest.embedding ? { size: manifest.hiddenSize, ...manifest.embedding } : null;
    return new Engine(tokenizer, maxModelLen, runner.device.provider, runner.device.reason, runner.runtime, runner.int4Kernel, threads, vision, samplingDefaults, { ...manifest.chat }, embedding, runner, scheduler);
  }

  generate(request: GenerationRequest, options: { signal?: AbortSignal } = {}): AsyncIterable<GenerationEvent> {
    this.assertAwake();
    this.assertGenerative('generate');
    checkGenerationRequest(request, this.limits);
    const constraint = checkConstraint(request);
    const prompt = request.promptTokens;
    const n = request.n ?? 1;
    const width = request.beam ? request.beam.width : (request.bestOf ?? n);
    const vision = this.visionPrompt(prompt, request.images ?? []);
    const state: GenerateRequestState = {
      kind: request.beam ? 'beam' : 'generate',
      id: request.requestId,
      request,
      promptTokens: prompt,
      arrival: performance.now(),
      phase: Phase.Waiting,
      slots: [],
      sequences: [],
      cachedTokens: 0,
      rowsWanted: new Set(request.promptLogprobs !== undefined ? prompt.slice(0, -1).map((_, q) => q) : []),
      cancelled: false,
      channel: new Channel<GenerationEvent>(),
      width,
      maxTokens: Math.min(request.maxTokens ?? Infinity, this.maxModelLen - prompt.length),
      promptLogprobs: [null],
      buffered: request.beam !== undefined || width > n,
      ...(vision ? { vision } : {}),
      ...(constraint ? { constraint } : {}),
    };
    this.scheduler.submit(state);
    const cancel = () => this.scheduler.cancel(state);
    options.signal?.addEventListener('abort', cancel, { once: true });
    if (options.signal?.aborted) cancel();
    return this.events(state, () => options.signal?.removeEventListener('abort', cancel));
  }

  /** The channel's events; a consumer that stops early cancels the request. */
  private async *events(state: GenerateRequestState, cleanup: () => void): AsyncGenerator<GenerationEvent> {
    try {
      yield* state.channel;
    } finally {
      cleanup();
      if (state.phase !== Phase.Done) this.scheduler.cancel(state);
    }
  }

  async sample(request: SampleRequest): Promise<SampleResult> {
    this.assertAwake();
    this.assertGenerative('sample');
    checkSampleRequest(request);
    if (this.vision) throw new EngineError('INVALID_ARGUMENT', 'sample() is not offered on a vision-language model');
    const { tokenIds, matchPositions } = matchSelector(request.prompt, request.selector, this.tokenizer);
    if (tokenIds.length > this.maxModelLen) {
      throw new EngineError('INVALID_ARGUMENT', `the prompt has ${tokenIds.length} tokens; this model's maximum context length is ${this.maxModelLen}`, 'prompt');
    }
    if (matchPositions.length === 0) return { promptTokens: tokenIds.length, matches: [] };
    return new Promise<SampleResult>((resolve, reject) => {
      const state: SampleRequestState = {
        kind: 'sample',
        id: request.requestId,
        promptTokens: tokenIds,
        arrival: performance.now(),
        phase: Phase.Waiting,
        slots: [],
        sequences: [],
        cachedTokens: 0,
        rowsWanted: new Set(matchPositions.filter((p) => p > 0).map((p) => p - 1)),
        cancelled: false,
        matchPositions,
        topN: request.logprobs,
        matches: new Map(),
        resolve: (matches) => resolve({ promptTokens: tokenIds.length, matches }),
        reject,
      };
      this.scheduler.submit(state);
    });
  }

  /**
   * The embedding of a text (its tokens) on a model converted for embeddings: its hidden
   * states pooled, truncated to `dimensions` and normalized as asked. Texts submitted together
   * prefill together, a row each.
   */
  async embed(request: EmbedRequest, options: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
    this.assertAwake();
    const embedding = this.embedding;
    if (!embedding) {
      throw new EngineError('INVALID_ARGUMENT', 'this model has no embedding output: convert it with --task embed (xllm convert or xllm serve)', 'model');
    }
    checkEmbedRequest(request, this.limits, embedding);
    const tokens = request.promptTokens;
    const pooling = request.pooling ?? embedding.pooling;
    let cancel = () => {};
    const embedded = new Promise<Float32Array>((resolve, reject) => {
      const state: EmbedRequestState = {
        kind: 'embed',
        id: request.requestId,
        promptTokens: tokens,
        arrival: performance.now(),
        phase: Phase.Waiting,
        slots: [],
        sequences: [],
        cachedTokens: 0,
        // Mean pooling keeps every row; the last one is always kept.
        rowsWanted: new Set(pooling === 'mean' ? tokens.slice(1).map((_, q) => q) : []),
        cancelled: false,
        pooling,
        normalize: request.normalize ?? embedding.normalize,
        dimensions: request.dimensions ?? embedding.size,
        pooled: new Float64Array(embedding.size),
        resolve,
        reject,
      };
      this.scheduler.submit(state);
      cancel = () => this.scheduler.cancel(state);
    });
    options.signal?.addEventListener('abort', cancel, { once: true });
    if (options.signal?.aborted) cancel();
    try {
      return { embedding: await embedded, promptTokens: tokens.length };
    } finally {
      options.signal?.removeEventListener('abort', cancel);
    }
  }

  async sleep(level: 1 | 2): Promise<void> {
    if (this.sleeping) return;
    if (this.scheduler.runningCount + this.scheduler.waitingCount > 0) {
      throw new EngineError('FAILED_PRECONDITION', 'cannot sleep while requests are in flight');
    }
    this.sleeping = level;
    this.scheduler.pause();
    await this.runner.release(level);
  }

  async wakeUp(): Promise<void> {
    if (!this.sleeping) return;
    await this.runner.restore();
    this.sleeping = false;
    this.scheduler.resume();
  }

  stats(): EngineStats {
    return {
      running: this.scheduler.runningCount,
      waiting: this.scheduler.waitingCount,
      slots: this.slotCount,
      slotsUsedRatio: this.scheduler.slotsUsed / this.slotCount,
      prefixCacheHits: this.scheduler.prefixCacheHits,
      kvCacheBytes: this.runner.kv?.bytes ?? 0,
      sleeping: this.sleeping,
    };
  }

  async close(): Promise<void> {
    await this.scheduler.close();
    await this.runner.release(2);
  }

  private get slotCount(): number {
    return this.scheduler.slotCount;
  }

  private get limits(): RequestLimits {
    return { vocabSize: this.runner.manifest.vocabSize, maxModelLen: this.maxModelLen, slots: this.slotCount };
  }

  private assertGenerative(method: string): void {
    if (this.embedding) throw new EngineError('INVALID_ARGUMENT', `${method}() is not offered by an embedding model (converted with --task embed)`, 'model');
  }

  private assertAwake(): void {
    if (this.sleeping) throw new EngineError('UNAVAILABLE', 'Model is currently in sleep state.');
  }

  /** A prompt with images (or image pads) on a VL model; undefined for a text-only prompt. */
  private visionPrompt(prompt: number[], images: PreparedImage[]): VisionPrompt | undefined {
    const m = this.runner.manifest;
    if (!hasVision(m)) {
      if (images.length > 0) throw new EngineError('INVALID_ARGUMENT', 'this model takes no images (it is not a vision-language model)', 'images');
      return undefined;
    }
    if (images.length === 0 && !prompt.includes(m.vision.tokens.imagePad)) return undefined;
    return visionPrompt(prompt, images, m);
  }
}
