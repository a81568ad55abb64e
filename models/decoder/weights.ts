// Turns checkpoint tensors into graph initializers and the ops that consume them, in the
// storage type asked for: fp32 as is, fp16 cast to float32 inside the graph (ONNX Runtime
// folds the casts of constant weights at load), int4 through com.microsoft.MatMulNBits.
import type { GraphBuilder } from '../onnx/graph.ts';
import { DataType, attr } from '../onnx/graph.ts';
import { toFloat16 } from '../numeric/half.ts';
import { quantizeInt4, quantizeInt4Rows, type Int4Weight } from '../numeric/int4.ts';
import type { SafetensorsCheckpoint } from '../safetensors/reader.ts';
import type { DecoderConfig } from './config.ts';

export type WeightDtype = 'fp32' | 'fp16' | 'int4';

export const INT4_BLOCK_SIZE = 32;
/** MatMulNBits accuracy_level 4: activations quantized to int8 for the int4 GEMM, the fastest CPU path. */
export const INT4_ACCURACY_LEVEL = 4;

const MS = 'com.microsoft';
/** The vocabulary tables are converted this many rows at a time (64 MiB of float32 at hidden 4096), so an 8B model's never sit whole in float32. */
const TABLE_CHUNK_ROWS = 4096;

export class WeightEmitter {
  constructor(
    private readonly g: GraphBuilder,
    private readonly ckpt: SafetensorsCheckpoint,
    private readonly config: DecoderConfig,
    readonly dtype: WeightDtype,
  ) {}

  /** A 1-D float32 vector (norm weights, biases), always kept in float32. */
  vector(tensor: string, length: number): string {
    return this.g.initializer(tensor, DataType.FLOAT, [length], this.ckpt.read(tensor, [length]));
  }

  /**
   * y = x · Wᵀ (+ b) for Hugging Face weights W [out, in]. Several weights listed together
   * are fused along `out` into one GEMM (q/k/v, gate/up); the caller splits the result.
   * `stored` is a weight's checkpoint shape when it is not [out, in] but flattens to it
   * (a Conv3d kernel whose stride equals its size is a linear map).
   */
  linear(x: string, weights: { name: string; out: number; stored?: number[] }[], inFeatures: number, biases?: string[]): string {
    const n = weights.reduce((a, w) => a + w.out, 0);
    const fused = new Float32Array(n * inFeatures);
    let row = 0;
    for (const w of weights) {
      if (w.stored && w.stored.reduce((p, d) => p * d, 1) !== w.out * inFeatures) throw new Error(`tensor ${w.name}: shape [${w.stored}] does not flatten to [${w.out}, ${inFeatures}]`);
      fused.set(this.ckpt.read(w.name, w.stored ?? [w.out, inFeatures]), row * inFeatures);
      row += w.out;
    }
    const label = weights.map((w) => w.name).join('+');
    let y = this.matmul(x, fused, n, inFeatures, label);
    if (biases) {
      const bias = new Float32Array(n);
      let at = 0;
      weights.forEach((w, i) => {
        bias.set(this.ckpt.read(biases[i]!, [w.out]), at);
        at += w.out;
      });
      const b = this.g.initializer(biases.join('+'), DataType.FLOAT, [n], bias);
      y = this.g.op('Add', [y, b], { name: `${label}/bias` });
    }
    return y;
  }

  /** Token embeddings [batch, seq] → [batch, seq, hidden] float32. */
  embed(ids: string): string {
    const { vocabSize, hiddenSize } = this.config;
    const tensor = 'model.embed_tokens.weight';
    if (this.dtype === 'fp32') {
      const t = this.g.initializer(tensor, DataType.FLOAT, [vocabSize, hiddenSize], this.ckpt.read(tensor, [vocabSize, hiddenSize]));
      return this.g.op('Gather', [t, ids], { name: 'embed' });
    }
    // fp16 and int4 keep the table in fp16 and cast only the gathered rows.
    const t = this.g.initializer(tensor, DataType.FLOAT16, [vocabSize, hiddenSize], this.float16Table(tensor));
    const rows = this.g.op('Gather', [t, ids], { name: 'embed' });
    return this.g.op('Cast', [rows], { name: 'embed/cast', attrs: { to: attr.int(DataType.FLOAT) } });
  }

  /** Final projection [n, hidden] → `output` [n, vocab], from lm_head.weight or the tied embeddings. */
  lmHead(x: string, output: string): string {
    const { vocabSize, hiddenSize, tieWordEmbeddings } = this.config;
    const tensor = tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    if (this.dtype === 'int4') {
      // A tied head gets its own int4 copy: the embedding table stays fp16 for the gather.
      const rowsAt = (start: number, count: number) => this.ckpt.readRows(tensor, [vocabSize, hiddenSize], start, count);
      return this.matNBits(x, quantizeInt4Rows(vocabSize, hiddenSize, INT4_BLOCK_SIZE, rowsAt, TABLE_CHUNK_ROWS), 'lm_head', output);
    }
    // Gemm with transB reads W [vocab, hidden] as stored, so a tied head reuses the embedding initializer.
    let w: string;
    if (tieWordEmbeddings) w = tensor;
    else if (this.dtype === 'fp32') w = this.g.initializer(tensor, DataType.FLOAT, [vocabSize, hiddenSize], this.ckpt.read(tensor, [vocabSize, hiddenSize]));
    else w = this.g.initializer(tensor, DataType.FLOAT16, [vocabSize, hiddenSize], this.float16Table(tensor));
    if (this.dtype !== 'fp32') w = this.g.op('Cast', [w], { name: 'lm_head/cast', attrs: { to: attr.int(DataType.FLOAT) } });
    return this.g.op('Gemm', [x, w], { name: 'lm_head', output, attrs: { transB: attr.int(1) } });
  }

  /** A [vocab, hidden] table as float16, converted a slice of rows at a time. */
  private float16Table(tensor: string): Uint16Array {
    const { vocabSize, hiddenSize } = this.config;
    const half = new Uint16Array(vocabSize * hiddenSize);
    for (let first = 0; first < vocabSize; first += TABLE_CHUNK_ROWS) {
      const count = Math.min(TABLE_CHUNK_ROWS, vocabSize - first);
      half.set(toFloat16(this.ckpt.readRows(tensor, [vocabSize, hiddenSize], first, count)), first * hiddenSize);
    }
    return half;
  }

  private matmul(x: string, w: Float32Array, n: number, k: number, label: string): string {
    if (this.dtype === 'int4') return this.matNBits(x, quantizeInt4(w, n, k, INT4_BLOCK_SIZE), label);
    const transposed = new Float32Array(k * n);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) transposed[c * n + r] = w[r * k + c]!;
    if (this.dtype === 'fp32') {
      return this.g.op('MatMul', [x, this.g.initializer(label, DataType.FLOAT, [k, n], transposed)], { name: label });
    }
    const half = this.g.initializer(label, DataType.FLOAT16, [k, n], toFloat16(transposed));
    const full = this.g.op('Cast', [half], { name: `${label}/cast`, attrs: { to: attr.int(DataType.FLOAT) } });
    return this.g.op('MatMul', [x, full], { name: label });
  }

  private matNBits(x: string, q: Int4Weight, label: string, output?: string): string {
    const { n, k } = q;
    const packed = this.g.initializer(`${label}.q4`, DataType.UINT8, [n, q.blocks, INT4_BLOCK_SIZE / 2], q.packed);
    const scales = this.g.initializer(`${label}.scales`, DataType.FLOAT, [n * q.blocks], q.scales);
    const zeros = this.g.initializer(`${label}.zero_points`, DataType.UINT8, [q.zeroPoints.length], q.zeroPoints);
    return this.g.op('MatMulNBits', [x, packed, scales, zeros], {
      name: label,
      output,
      domain: MS,
      attrs: { K: attr.int(k), N: attr.int(n), bits: attr.int(4), block_size: attr.int(INT4_BLOCK_SIZE), accuracy_level: attr.int(INT4_ACCURACY_LEVEL) },
    });
  }
}
