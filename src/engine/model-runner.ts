// Runs the engine-layout graph (models/ writes it, src/model/manifest.ts describes it):
// chunked prefill of one slot, and a decode step over a window of slots, with the KV cache
// updated in place and the picked rows' output written into a caller-owned buffer: logits
// (into the sampler's memory), or, from a graph converted for embeddings, hidden states.
// A Qwen2.5-VL model adds its vision graph (pixels → image embeddings), M-RoPE position ids
// and the image rows scattered over a prefill chunk's token embeddings.
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { hasVision, type ModelManifest } from '../model/manifest.ts';
import type { PreparedImage } from '../vision/types.ts';
import { openOnDevice, type DeviceChoice, type Provider } from './device.ts';
import { createGraphSession, ortSessionOptions, resolveRuntime, type GraphSession, type Int4KernelChoice, type Int4KernelUse, type Runtime, type RuntimeChoice } from './graph-session.ts';
import { DeviceKvCache } from './device-kv-cache.ts';
import { KvCache } from './kv-cache.ts';
import type { Device } from './types.ts';
import type { ChunkImages } from './vision-prompt.ts';

export interface RunnerOptions {
  device: Device;
  threads?: number;
  runtime: RuntimeChoice;
  /** For a model with int4 weights: which kernel multiplies by them. */
  int4Kernel: Int4KernelChoice;
  slots: number;
  maxLength: number;
}

/**
 * A rectangular block of a pass: `rows` × `seq` tokens (row-major) over the KV slots
 * [firstSlot, firstSlot + rows). `totals[r]` is row r's length after the pass.
 */
export interface PassSegment {
  firstSlot: number;
  rows: number;
  seq: number;
  tokens: ArrayLike<number>;
  positions: ArrayLike<number>;
  totals: ArrayLike<number>;
}

/**
 * One forward pass: one segment (a prompt chunk, prompts prefilled together, a decode step),
 * or, where `mixedPasses` holds, several — a decode step and a prompt chunk in the same pass.
 */
export interface ForwardStep {
  segments: PassSegment[];
  /** Positions in the segments' tokens, laid end to end, whose output row is written into `output`. */
  outputAt: ArrayLike<number>;
  /** outputAt.length × rowWidth floats, or more. */
  output: Float32Array;
  /** M-RoPE models (one segment): [3 × rows × seq] positions when the components differ; else `positions` serves all three. */
  mrope?: Int32Array;
  /** M-RoPE models (one segment): image embedding rows replacing token embeddings in this pass. */
  images?: ChunkImages;
}

interface Sessions {
  text: GraphSession;
  vision: ort.InferenceSession | null;
}

export class ModelRunner {
  kv: KvCache | DeviceKvCache | null = null;
  /** The execution provider the model runs on, and why (`auto` names what it passed over). */
  readonly device: DeviceChoice;
  /** What runs the text graph. */
  readonly runtime: Runtime;
  /** What runs its int4 products, and why; null for a model without int4 weights. */
  readonly int4Kernel: Int4KernelUse | null;
  /** The graph's output for each picked row: logits, or hidden states (an embedding graph). */
  readonly rowOutput: { name: string; width: number };
  /**
   * Whether a pass may have several segments: on the native runtime, whose attention runs each
   * segment over its own slots (native/attention_op.c), for a text model (M-RoPE's positions
   * and image rows are laid out for one segment).
   */
  readonly mixedPasses: boolean;
  /**
   * Whether a decode step covers every slot: with the cache on the device, where a smaller
   * window costs two copies of the cache (device-kv-cache.ts) and idle rows cost little.
   */
  readonly decodesWholeCache: boolean;
  /**
   * Whether fresh prompts of different lengths may share a pass, right-padded to the longest:
   * ONNX Runtime's GroupQueryAttention takes such rows on the cpu, but its WebGPU kernel
   * computes them wrong (measured on the tiny model: prompts of equal length agree with the
   * cpu to every printed digit, padded ones differ by 1e-2 in logprob).
   */
  readonly paddedPrompts: boolean;
  private sessions: Sessions | null;
  /** The image inputs of a pass without images (N = 0), made once. */
  private readonly noImages: { embeds: ort.Tensor; at: ort.Tensor } | null;
  /** Staging for the int64 inputs, reused pass after pass. */
  private readonly inputIds = new Int64Staging();
  private readonly positionStaging = new Int64Staging();
  private readonly logitsIndices = new Int64Staging();

  private constructor(
    readonly manifest: ModelManifest,
    sessions: Sessions,
    private readonly modelDir: string,
    private readonly options: RunnerOptions,
    device: DeviceChoice,
  ) {
    this.device = device;
    this.sessions = sessions;
    this.runtime = sessions.text.runtime;
    this.int4Kernel = sessions.text.int4Kernel;
    const { logits, hiddenStates } = manifest.outputs;
    this.rowOutput = logits !== undefined ? { name: logits, width: manifest.vocabSize } : { name: hiddenStates!, width: manifest.hiddenSize };
    this.mixedPasses = this.runtime === 'native' && !hasVision(manifest);
    this.decodesWholeCache = keepsKvOnDevice(device.provider);
    this.paddedPrompts = device.provider !== 'webgpu';
    this.noImages =
      hasVision(manifest)
        ? { embeds: new ort.Tensor('float32', new Float32Array(0), [0, manifest.hiddenSize]), at: new ort.Tensor('int64', new BigInt64Array(0), [0, 2]) }
        : null;
  }

  /** `manifest` is the model directory's, already read (readManifest). */
  static async load(modelDir: string, manifest: ModelManifest, options: RunnerOptions): Promise<ModelRunner> {
    const { value: sessions, choice } = await openOnDevice(options.device, (providers) => createSessions(modelDir, manifest, providers, options));
    const runner = new ModelRunner(manifest, sessions, modelDir, options, choice);
    runner.kv = await runner.newCache();
    return runner;
  }

  private async newCache(): Promise<KvCache | DeviceKvCache> {
    const m = this.manifest;
    const shape = { layers: m.numLayers, kvHeads: m.numKeyValueHeads, headDim: m.headDim, slots: this.options.slots, maxLength: this.options.maxLength };
    if (keepsKvOnDevice(this.device.provider)) return DeviceKvCache.create(shape, [this.device.provider]);
    return new KvCache(shape, this.runtime === 'native' ? 'double' : 'step');
  }

  /** Sleep level 1 frees the KV cache; level 2 also the sessions (weights). */
  async release(level: 1 | 2): Promise<void> {
    if (this.kv instanceof DeviceKvCache) await this.kv.dispose();
    this.kv = null;
    if (level === 2 && this.sessions) {
      await Promise.all([this.sessions.text.release(), this.sessions.vision?.release()]);
      this.sessions = null;
    }
  }

  async restore(): Promise<void> {
    // The kernel that served before sleeping serves again.
    const options = this.int4Kernel ? { ...this.options, int4Kernel: this.int4Kernel.kernel } : this.options;
    this.sessions ??= await createSessions(this.modelDir, this.manifest, [this.device.provider], options);
    this.kv ??= await this.newCache();
  }

  /** [Σ tokenCount, hiddenSize] embeddings of `images`, in order: the vision graph takes one image a run. */
  async embedImages(images: readonly PreparedImage[]): Promise<Float32Array> {
    const m = this.manifest;
    if (!hasVision(m)) throw new Error('model runner: this model has no vision graph');
    const v = m.vision;
    const perImage: Float32Array[] = [];
    for (const image of images) {
      const vision = this.sessions?.vision;
      if (!vision) throw new Error('model runner: released (sleeping)');
      const out = await vision.run({
        [v.inputs.pixelValues]: new ort.Tensor('float32', image.pixelValues, [image.pixelValues.length / v.patchInputSize, v.patchInputSize]),
        [v.inputs.gridThw]: new ort.Tensor('int64', BigInt64Array.from(image.gridThw, BigInt), [1, 3]),
      });
      const embeds = out[v.outputs.imageEmbeds];
      if (embeds.dims[0] !== image.tokenCount || embeds.dims[1] !== m.hiddenSize) {
        throw new Error(`vision graph: image_embeds is [${embeds.dims.join(', ')}], expected [${image.tokenCount}, ${m.hiddenSize}]`);
      }
      perImage.push(embeds.data as Float32Array);
    }
    return perImage.length === 1 ? perImage[0] : concat(perImage);
  }

  /**
   * One forward pass; the segments' `totals` say each row's length after it, and `outputAt`
   * which of their tokens' output rows are written into `output` (n × rowOutput.width).
   * One segment is fed as its [rows, seq] block over its slots; several as one row of tokens
   * [1, T] over the whole cache, with the segments handed to the attention op. Returns the
   * seconds spent running graphs (with the cache on the device, its helper graphs too).
   */
  async forward(step: ForwardStep): Promise<number> {
    const session = this.sessions?.text;
    const kv = this.kv;
    if (!session || !kv) throw new Error('model runner: released (sleeping)');
    const { segments } = step;
    const single = segments.length === 1 ? segments[0] : null;
    if (!single && !this.mixedPasses) throw new Error(`model runner: a pass of ${segments.length} segments needs the native runtime and a text model`);
    const rows = segments.reduce((n, s) => n + s.rows, 0);
    const seqlensK = new Int32Array(rows);
    let maxTotal = 0;
    let row = 0;
    for (const s of segments) {
      for (let r = 0; r < s.rows; r++, row++) {
        seqlensK[row] = s.totals[r] - 1;
        maxTotal = Math.max(maxTotal, s.totals[r]);
      }
    }
    const m = this.manifest;
    const n = step.outputAt.length;
    const tokenDims = single ? [single.rows, single.seq] : [1, segments.reduce((t, s) => t + s.rows * s.seq, 0)];
    const feeds: Record<string, ort.Tensor> = {
      [m.inputs.inputIds]: this.inputIds.tensor(single ? single.tokens : joined(segments, (s) => s.tokens), tokenDims),
      [m.inputs.positionIds]: this.positionIds(single ? single.positions : joined(segments, (s) => s.positions), tokenDims, step.mrope),
      [m.inputs.seqlensK]: new ort.Tensor('int32', seqlensK, [rows]),
      [m.inputs.totalSequenceLength]: new ort.Tensor('int32', Int32Array.of(maxTotal), []),
      [m.inputs.logitsIndices]: this.logitsIndices.tensor(step.outputAt, [n]),
    };
    const { name, width } = this.rowOutput;
    const fetches: Record<string, ort.Tensor> = { [name]: new ort.Tensor('float32', step.output.subarray(0, n * width), [n, width]) };
    if (hasVision(m)) {
      const images = step.images;
      feeds[m.inputs.imageEmbeds] = images ? new ort.Tensor('float32', images.embeds, [images.at.length / 2, m.hiddenSize]) : this.noImages!.embeds;
      feeds[m.inputs.imagePositions] = images ? new ort.Tensor('int64', images.at, [images.at.length / 2, 2]) : this.noImages!.at;
    }
    if (kv instanceof DeviceKvCache) {
      const started = performance.now();
      // One segment (no mixed passes off the native runtime): its window's buffers in, presents out.
      kv.reserve(maxTotal);
      await kv.run(single!.firstSlot, single!.rows, async (past) => {
        for (let layer = 0; layer < m.numLayers; layer++) {
          feeds[m.inputs.pastKeys[layer]] = past[2 * layer];
          feeds[m.inputs.pastValues[layer]] = past[2 * layer + 1];
        }
        const presents = await session.run(feeds, fetches);
        return m.outputs.presentKeys.flatMap((key, layer) => [presents[key], presents[m.outputs.presentValues[layer]]]);
      });
      return (performance.now() - started) / 1000;
    }
    kv.reserve(maxTotal);
    const started = performance.now();
    const cache = single ? kv.tensors(single.firstSlot, single.rows) : kv.tensors(0, kv.shape.slots);
    for (let layer = 0; layer < m.numLayers; layer++) {
      feeds[m.inputs.pastKeys[layer]] = fetches[m.outputs.presentKeys[layer]] = cache[`${layer}.key`];
      feeds[m.inputs.pastValues[layer]] = fetches[m.outputs.presentValues[layer]] = cache[`${layer}.value`];
    }
    const layout = single ? undefined : Int32Array.from(segments.flatMap((s) => [s.firstSlot, s.rows, s.seq]));
    await session.run(feeds, fetches, layout);
    return (performance.now() - started) / 1000;
  }

  /** `position_ids` of `dims`, or [3, ...dims] for M-RoPE (one component thrice when they agree). */
  private positionIds(positions: ArrayLike<number>, dims: number[], mrope: Int32Array | undefined): ort.Tensor {
    if (this.manifest.positions === 'position_ids') return this.positionStaging.tensor(positions, dims);
    return this.positionStaging.tensor(mrope ?? positions, [3, ...dims], mrope ? 1 : 3);
  }
}

/**
 * An int64 input written pass after pass into one grow-only buffer, through its 32-bit words,
 * so a pass makes no BigInt per value and no new array. The words are little-endian, as on
 * every platform ONNX Runtime ships for. A tensor is valid until the next call.
 */
class Int64Staging {
  private values = new BigInt64Array(64);
  private words = new Int32Array(this.values.buffer);

  /** `source` written `times` times in a row (values are int32). */
  tensor(source: ArrayLike<number>, dims: number[], times = 1): ort.Tensor {
    const n = source.length * times;
    if (n > this.values.length) {
      this.values = new BigInt64Array(2 ** Math.ceil(Math.log2(n)));
      this.words = new Int32Array(this.values.buffer);
    }
    const words = this.words;
    for (let copy = 0, at = 0; copy < times; copy++) {
      for (let i = 0; i < source.length; i++, at += 2) {
        const value = source[i];
        words[at] = value;
        words[at + 1] = value < 0 ? -1 : 0;
      }
    }
    return new ort.Tensor('int64', this.values.subarray(0, n), dims);
  }
}

/** The segments' `field` laid end to end. */
function joined(segments: PassSegment[], field: (s: PassSegment) => ArrayLike<number>): number[] {
  const out: number[] = [];
  for (const s of segments) for (const value of Array.from(field(s))) out.push(value);
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Whether the KV cache stays on the device between passes (device-kv-cache.ts): on webgpu, whose
 * GPU buffers onnxruntime-node can hand back and take in. Its binding knows no CUDA memory, so
 * on cuda the cache lives in host memory and each pass moves it across.
 */
function keepsKvOnDevice(provider: Provider): boolean {
  return provider === 'webgpu';
}

async function createSessions(dir: string, manifest: ModelManifest, providers: Provider[], options: RunnerOptions): Promise<Sessions> {
  const presents = [...manifest.outputs.presentKeys, ...manifest.outputs.presentValues];
  const settings = {
    providers,
    threads: options.threads,
    int4Kernel: manifest.dtype === 'int4' ? options.int4Kernel : undefined,
    deviceOutputs: keepsKvOnDevice(providers[0]) ? presents : undefined,
  };
  const [text, vision] = await Promise.allSettled([
    createGraphSession(join(dir, manifest.graph), resolveRuntime(options.runtime, providers), settings),
    // The vision graph's output size depends on the images, so onnxruntime-node allocates it.
    hasVision(manifest) ? ort.InferenceSession.create(join(dir, manifest.vision.graph), ortSessionOptions({ ...settings, deviceOutputs: undefined })) : null,
  ]);
  if (text.status === 'fulfilled' && vision.status === 'fulfilled') return { text: text.value, vision: vision.value };
  // One graph opened and the other did not: let the opened one go (`auto` tries another device).
  if (text.status === 'fulfilled') await text.value.release();
  if (vision.status === 'fulfilled') await vision.value?.release();
  throw text.status === 'rejected' ? text.reason : (vision as PromiseRejectedResult).reason;
}
