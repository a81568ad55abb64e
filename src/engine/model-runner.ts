// Runs the engine-layout graph (models/ writes it, src/model/manifest.ts describes it):
// chunked prefill of one slot, and a decode step over a window of slots, with the KV cache
// updated in place and logits written into a caller-owned buffer (the sampler's memory).
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { readManifest, type ModelManifest } from '../model/manifest.ts';
import { resolveProviders } from './device.ts';
import { KvCache } from './kv-cache.ts';
import type { Device } from './types.ts';

export interface RunnerOptions {
  device: Device;
  threads?: number;
  slots: number;
  maxLength: number;
}

export class ModelRunner {
  kv: KvCache | null;
  readonly provider: string;

  private constructor(
    readonly manifest: ModelManifest,
    private session: ort.InferenceSession | null,
    private readonly modelDir: string,
    private readonly options: RunnerOptions,
    provider: string,
  ) {
    this.provider = provider;
    this.kv = this.newCache();
  }

  static async load(modelDir: string, options: RunnerOptions): Promise<ModelRunner> {
    const manifest = readManifest(modelDir);
    const providers = resolveProviders(options.device);
    const session = await createSession(modelDir, manifest, providers, options.threads);
    return new ModelRunner(manifest, session, modelDir, options, providers[0]);
  }

  private newCache(): KvCache {
    const m = this.manifest;
    return new KvCache({
      layers: m.numLayers,
      kvHeads: m.numKeyValueHeads,
      headDim: m.headDim,
      slots: this.options.slots,
      maxLength: this.options.maxLength,
    });
  }

  /** Sleep level 1 frees the KV cache; level 2 also the session (weights). */
  async release(level: 1 | 2): Promise<void> {
    this.kv = null;
    if (level === 2 && this.session) {
      await this.session.release();
      this.session = null;
    }
  }

  async restore(): Promise<void> {
    if (!this.session) {
      this.session = await createSession(this.modelDir, this.manifest, resolveProviders(this.options.device), this.options.threads);
    }
    this.kv ??= this.newCache();
  }

  /**
   * One forward pass. `tokens`/`positions` are [rows × seq] row-major; `totals[r]` is row r's
   * length after this step; `logitsAt` indexes the flattened rows×seq positions whose logits
   * are written into `logits` (n × vocab). Returns the seconds spent inside session.run.
   */
  async forward(step: {
    firstSlot: number;
    rows: number;
    seq: number;
    tokens: ArrayLike<number>;
    positions: ArrayLike<number>;
    totals: ArrayLike<number>;
    logitsAt: ArrayLike<number>;
    logits: Float32Array;
  }): Promise<number> {
    const session = this.session;
    const kv = this.kv;
    if (!session || !kv) throw new Error('model runner: released (sleeping)');
    const { rows, seq } = step;
    let maxTotal = 0;
    const seqlensK = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      seqlensK[r] = step.totals[r] - 1;
      maxTotal = Math.max(maxTotal, step.totals[r]);
    }
    kv.reserve(maxTotal);
    const m = this.manifest;
    const n = step.logitsAt.length;
    const feeds: Record<string, ort.Tensor> = {
      [m.inputs.inputIds]: new ort.Tensor('int64', BigInt64Array.from(Array.from(step.tokens, BigInt)), [rows, seq]),
      [m.inputs.positionIds]: new ort.Tensor('int64', BigInt64Array.from(Array.from(step.positions, BigInt)), [rows, seq]),
      [m.inputs.seqlensK]: new ort.Tensor('int32', seqlensK, [rows]),
      [m.inputs.totalSequenceLength]: new ort.Tensor('int32', Int32Array.of(maxTotal), []),
      [m.inputs.logitsIndices]: new ort.Tensor('int64', BigInt64Array.from(Array.from(step.logitsAt, BigInt)), [n]),
    };
    const fetches: Record<string, ort.Tensor> = {
      [m.outputs.logits]: new ort.Tensor('float32', step.logits.subarray(0, n * m.vocabSize), [n, m.vocabSize]),
    };
    const cache = kv.tensors(step.firstSlot, rows);
    for (let layer = 0; layer < m.numLayers; layer++) {
      feeds[m.inputs.pastKeys[layer]] = fetches[m.outputs.presentKeys[layer]] = cache[`${layer}.key`];
      feeds[m.inputs.pastValues[layer]] = fetches[m.outputs.presentValues[layer]] = cache[`${layer}.value`];
    }
    const started = performance.now();
    await session.run(feeds, fetches);
    return (performance.now() - started) / 1000;
  }
}

async function createSession(dir: string, manifest: ModelManifest, providers: string[], threads?: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(dir, manifest.graph), {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(threads ? { intraOpNumThreads: threads } : {}),
  });
}
