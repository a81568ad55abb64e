// Test helper: drives an engine-layout graph the way the engine does, with one KV buffer
// per layer shared by past and present (GQA updates it in place), batch-1 prefill over
// a row's view and batched decode. onnxruntime-node runs the graph unless told otherwise.
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { createGraphSession, type GraphSession, type Int4KernelChoice, type Runtime } from '../../src/engine/graph-session.ts';
import { readManifest, type ModelManifest } from '../../src/model/manifest.ts';

export interface SessionChoice {
  runtime?: Runtime;
  int4Kernel?: Int4KernelChoice;
}

export class EngineSession {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  /** Tokens in the cache, per row. */
  readonly lengths: number[];

  private constructor(
    readonly session: GraphSession,
    readonly manifest: ModelManifest,
    readonly rows: number,
    readonly capacity: number,
  ) {
    const size = rows * manifest.numKeyValueHeads * capacity * manifest.headDim;
    this.keys = Array.from({ length: manifest.numLayers }, () => new Float32Array(size));
    this.values = Array.from({ length: manifest.numLayers }, () => new Float32Array(size));
    this.lengths = new Array(rows).fill(0);
  }

  static async open(dir: string, rows: number, capacity: number, choice: SessionChoice = {}): Promise<EngineSession> {
    const manifest = readManifest(dir);
    const settings = { providers: ['cpu'], threads: 1, int4Kernel: choice.int4Kernel };
    const session = await createGraphSession(join(dir, manifest.graph), choice.runtime ?? 'onnxruntime-node', settings);
    return new EngineSession(session, manifest, rows, capacity);
  }

  private cache(buffers: Float32Array[], first: number, count: number): ort.Tensor[] {
    const m = this.manifest;
    const rowSize = m.numKeyValueHeads * this.capacity * m.headDim;
    return buffers.map((b) => new ort.Tensor('float32', b.subarray(first * rowSize, (first + count) * rowSize), [count, m.numKeyValueHeads, this.capacity, m.headDim]));
  }

  /**
   * One pass over rows first.. (one token list each, same length); `overrides` replaces or
   * adds inputs (M-RoPE position_ids, image inputs). Returns the requested logits rows.
   */
  async forward(first: number, tokens: number[][], logitsIndices: number[], overrides: Record<string, ort.Tensor> = {}): Promise<Float32Array[]> {
    const m = this.manifest;
    const batch = tokens.length;
    const seq = tokens[0]!.length;
    const totals = tokens.map((t, b) => this.lengths[first + b]! + t.length);
    const keys = this.cache(this.keys, first, batch);
    const values = this.cache(this.values, first, batch);
    const feeds: Record<string, ort.Tensor> = {
      [m.inputs.inputIds]: new ort.Tensor('int64', BigInt64Array.from(tokens.flat(), BigInt), [batch, seq]),
      [m.inputs.positionIds]: new ort.Tensor('int64', BigInt64Array.from(tokens.flatMap((t, b) => t.map((_, i) => BigInt(this.lengths[first + b]! + i)))), [batch, seq]),
      [m.inputs.seqlensK]: new ort.Tensor('int32', Int32Array.from(totals, (t) => t - 1), [batch]),
      [m.inputs.totalSequenceLength]: new ort.Tensor('int32', Int32Array.of(Math.max(...totals)), []),
      [m.inputs.logitsIndices]: new ort.Tensor('int64', BigInt64Array.from(logitsIndices, BigInt), [logitsIndices.length]),
      ...overrides,
    };
    const logits = new Float32Array(logitsIndices.length * m.vocabSize);
    const fetches: Record<string, ort.Tensor> = { [m.outputs.logits!]: new ort.Tensor('float32', logits, [logitsIndices.length, m.vocabSize]) };
    for (let i = 0; i < m.numLayers; i++) {
      feeds[m.inputs.pastKeys[i]!] = keys[i]!;
      feeds[m.inputs.pastValues[i]!] = values[i]!;
      fetches[m.outputs.presentKeys[i]!] = keys[i]!;
      fetches[m.outputs.presentValues[i]!] = values[i]!;
    }
    await this.session.run(feeds, fetches);
    tokens.forEach((t, b) => (this.lengths[first + b]! += t.length));
    return logitsIndices.map((_, r) => logits.subarray(r * m.vocabSize, (r + 1) * m.vocabSize));
  }

  /** Prefill one row (batch 1 over its view); returns logits for every token. */
  prefill(row: number, tokens: number[]): Promise<Float32Array[]> {
    return this.forward(row, [tokens], tokens.map((_, i) => i));
  }

  /** One token for every row at once; returns one logits row per cache row. */
  decode(tokens: number[]): Promise<Float32Array[]> {
    if (tokens.length !== this.rows) throw new Error('decode needs one token per row');
    return this.forward(0, tokens.map((t) => [t]), tokens.map((_, i) => i));
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
