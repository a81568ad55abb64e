// xllm's int4 kernel (native/int4_matmul.c), which the native runtime puts in place of ONNX
// Runtime's com.microsoft.MatMulNBits. One-node graphs, every path of the kernel (few rows
// from the stored layout, many rows from packed panels, the edges of both), against a float64
// reference of what MatMulNBits computes at accuracy_level 4 (activations quantized to int8 per
// block of 32) and against ONNX Runtime's own kernel; the tiny int4 model against the float64
// reference forward pass; and the cases where ONNX Runtime's kernel stays.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { quantizeInt4, type Int4Weight } from '../../models/numeric/int4.ts';
import { DataType, attr } from '../../models/onnx/graph.ts';
import { writeGraph } from '../../models/onnx/write-graph.ts';
import { Engine } from '../../src/engine/engine.ts';
import { createGraphSession, int4KernelUnavailable, type GraphSession, type Int4KernelChoice } from '../../src/engine/graph-session.ts';
import { DecoderReference, argmax } from '../reference/decoder.ts';
import { collect, greedyRequest } from '../engine/helpers.ts';
import { EngineSession, cosineSimilarity } from './engine-session.ts';

const dir = mkdtempSync(join(tmpdir(), 'xllm-int4-kernel-'));
let seed = 1;
const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const randomArray = (count: number, scale = 1): Float32Array => Float32Array.from({ length: count }, () => random() * scale);

interface MatMulCase {
  n: number;
  k: number;
  zeroPoints: boolean;
  bias: boolean;
  blockSize?: number;
  accuracyLevel?: number;
}

interface Written {
  path: string;
  weight: Int4Weight;
  bias: Float32Array | null;
}

let graphs = 0;
function writeMatMul(c: MatMulCase): Written {
  const weight = quantizeInt4(randomArray(c.n * c.k), c.n, c.k, c.blockSize ?? 32);
  if (!c.zeroPoints) {
    // Symmetric: every zero point 8, the input left out (MatMulNBits' default).
    const nibble = () => Math.floor((random() + 1) * 8);
    for (let i = 0; i < weight.packed.length; i++) weight.packed[i] = nibble() | (nibble() << 4);
    weight.zeroPoints.fill(0x88);
  }
  const bias = c.bias ? randomArray(c.n) : null;
  const path = join(dir, `matmul-${graphs++}.onnx`);
  writeGraph(path, 'matmul', (g) => {
    const x = g.input('x', DataType.FLOAT, ['m', c.k]);
    const packed = g.initializer('packed', DataType.UINT8, [c.n, weight.blocks, weight.blockSize / 2], weight.packed);
    const scales = g.initializer('scales', DataType.FLOAT, [c.n * weight.blocks], weight.scales);
    const zp = c.zeroPoints ? g.initializer('zero_points', DataType.UINT8, [weight.zeroPoints.length], weight.zeroPoints) : '';
    const inputs = [x, packed, scales, zp];
    if (bias) inputs.push('', g.initializer('bias', DataType.FLOAT, [c.n], bias));
    while (inputs.at(-1) === '') inputs.pop();
    const attrs = { K: attr.int(c.k), N: attr.int(c.n), bits: attr.int(4), block_size: attr.int(weight.blockSize), accuracy_level: attr.int(c.accuracyLevel ?? 4) };
    g.op('MatMulNBits', inputs, { domain: 'com.microsoft', output: 'y', attrs });
    g.output('y', DataType.FLOAT, ['m', c.n]);
  });
  return { path, weight, bias };
}

function zeroPointOf(w: Int4Weight, n: number, b: number): number {
  const byte = w.zeroPoints[n * Math.ceil(w.blocks / 2) + (b >> 1)]!;
  return b & 1 ? byte >> 4 : byte & 15;
}

function quantOf(w: Int4Weight, n: number, k: number): number {
  const byte = w.packed[n * w.blocks * (w.blockSize / 2) + (k >> 1)]!;
  return k & 1 ? byte >> 4 : byte & 15;
}

/** Round half to even, as the CPU's float → int conversion does. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * What MatMulNBits computes at accuracy_level 4, in float64 from the operator's definition:
 * each row of x split into blocks of 32, each block quantized to int8 with scale max|x| / 127;
 * the integer products summed per block, times both scales; plus the bias.
 */
function referenceMatMul(x: Float32Array, m: number, written: Written): Float64Array {
  const { weight: w, bias } = written;
  const y = new Float64Array(m * w.n);
  for (let r = 0; r < m; r++) {
    const row = x.subarray(r * w.k, (r + 1) * w.k);
    const q = new Int32Array(w.k);
    const xScales: number[] = [];
    for (let b = 0; b * 32 < w.k; b++) {
      let amax = 0;
      for (let i = b * 32; i < Math.min(w.k, b * 32 + 32); i++) amax = Math.max(amax, Math.abs(row[i]!));
      xScales.push(Math.fround(amax / 127));
      const inverse = amax > 0 ? Math.fround(127 / amax) : 0;
      for (let i = b * 32; i < Math.min(w.k, b * 32 + 32); i++) q[i] = roundEven(Math.fround(row[i]! * inverse));
    }
    for (let n = 0; n < w.n; n++) {
      let sum = bias ? bias[n]! : 0;
      for (let b = 0; b < w.blocks; b++) {
        const zp = zeroPointOf(w, n, b);
        let dot = 0;
        for (let i = b * 32; i < Math.min(w.k, b * 32 + 32); i++) dot += q[i]! * (quantOf(w, n, i) - zp);
        sum += dot * xScales[b]! * w.scales[n * w.blocks + b]!;
      }
      y[r * w.n + n] = sum;
    }
  }
  return y;
}

async function openMatMul(path: string, int4Kernel: Int4KernelChoice | 'onnxruntime-node'): Promise<GraphSession> {
  const settings = { providers: ['cpu'], threads: 2, int4Kernel: int4Kernel === 'onnxruntime-node' ? undefined : int4Kernel };
  return createGraphSession(path, int4Kernel === 'onnxruntime-node' ? 'onnxruntime-node' : 'native', settings);
}

async function runMatMul(session: GraphSession, x: Float32Array, m: number, k: number, n: number): Promise<Float32Array> {
  const y = new Float32Array(m * n);
  await session.run({ x: new ort.Tensor('float32', x, [m, k]) }, { y: new ort.Tensor('float32', y, [m, n]) });
  return y;
}

/** Largest |a - b| over a row, relative to the row's largest |b|. */
function worstRowError(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number): number {
  let worst = 0;
  for (let r = 0; r < m; r++) {
    let diff = 0;
    let scale = 1e-6;
    for (let i = r * n; i < (r + 1) * n; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

const unavailable = int4KernelUnavailable();

test('the kernel equals the float64 MatMulNBits reference, and ONNX Runtime\'s own kernel, on every path and edge', async () => {
  if (unavailable) return void console.warn(`int4-kernel.test: ${unavailable}; skipped`);
  // Rows: 1–16 take the stored layout (1–4 a pass, then passes of 4 and a remainder), 17+ the
  // packed panels (tiles of 4 rows and their remainders; 300 rows are two tasks of 256). Columns not a multiple of 16
  // or 48; K not a multiple of 32 (a short last block) and an odd number of blocks.
  const cases: MatMulCase[] = [
    { n: 100, k: 70, zeroPoints: true, bias: false },
    { n: 64, k: 896, zeroPoints: false, bias: true },
    { n: 131, k: 128, zeroPoints: true, bias: true },
  ];
  for (const c of cases) {
    const written = writeMatMul(c);
    const ours = await openMatMul(written.path, 'xllm');
    assert.equal(ours.int4Kernel, { kernel: 'xllm', reason: 'asked for' });
    const theirs = await openMatMul(written.path, 'onnxruntime-node');
    for (const m of [1, 2, 3, 4, 5, 8, 9, 13, 16, 17, 21, 64, 300]) {
      const x = randomArray(m * c.k, 3);
      const got = await runMatMul(ours, x, m, c.k, c.n);
      const want = referenceMatMul(x, m, written);
      const label = `n ${c.n} k ${c.k} rows ${m}${c.zeroPoints ? '' : ', no zero points'}${c.bias ? ', bias' : ''}`;
      assert.ok(worstRowError(got, want, m, c.n) < 1e-5, `${label}: reference error ${worstRowError(got, want, m, c.n)}`);
      // ONNX Runtime's MLAS rounds its int8 activations its own way: agreement within the quantization.
      const mlas = await runMatMul(theirs, x, m, c.k, c.n);
      assert.ok(worstRowError(got, mlas, m, c.n) < 2e-2, `${label}: against ONNX Runtime ${worstRowError(got, mlas, m, c.n)}`);
    }
    await ours.release();
    await theirs.release();
  }
});

test('a graph the kernel does not take keeps ONNX Runtime\'s: auto says why, an explicit xllm fails naming it', async () => {
  if (unavailable) return void console.warn(`int4-kernel.test: ${unavailable}; skipped`);
  for (const [c, what] of [
    [{ n: 32, k: 64, zeroPoints: true, bias: false, blockSize: 16 }, 'block_size 16'],
    [{ n: 32, k: 64, zeroPoints: true, bias: false, accuracyLevel: 0 }, 'accuracy_level 0'],
  ] as const) {
    const written = writeMatMul(c);
    const auto = await openMatMul(written.path, 'auto');
    assert.is(auto.int4Kernel?.kernel, 'onnxruntime');
    assert.match(auto.int4Kernel!.reason, what);
    const x = randomArray(5 * c.k);
    const y = await runMatMul(auto, x, 5, c.k, c.n);
    assert.ok(y.every(Number.isFinite), 'ONNX Runtime ran it');
    await auto.release();
    let message = '';
    await openMatMul(written.path, 'xllm').catch((error: Error) => (message = error.message));
    assert.match(message, what);
  }
  const written = writeMatMul({ n: 16, k: 32, zeroPoints: true, bias: false });
  let message = '';
  await createGraphSession(written.path, 'onnxruntime-node', { providers: ['cpu'], int4Kernel: 'xllm' }).catch((error: Error) => (message = error.message));
  assert.match(message, 'native runtime only');
});

test('tiny int4 on xllm\'s kernel: the reference greedy tokens, logits cosine > 0.99, prompts long and short, a batch of 3', async () => {
  if (unavailable) return void console.warn(`int4-kernel.test: ${unavailable}; skipped`);
  const reference = DecoderReference.load(ensureCheckpoint('tiny'));
  const model = ensureModel('tiny', 'int4');
  const prompts = [
    [9707, 11, 1879, 0, 3555, 374, 279, 6722, 315, 9625, 30], // 11 rows: the stored layout, passes of 4, 4 and 3
    Array.from({ length: 70 }, (_, i) => (i * 7919 + 13) % 151000),
    [151644, 872, 198, 14990, 151645, 198],
  ];
  const engine = await EngineSession.open(model, prompts.length, 128, { runtime: 'native', int4Kernel: 'xllm' });
  assert.is(engine.session.int4Kernel?.kernel, 'xllm');
  const refs = prompts.map(() => reference.newSequence());
  let logits = await Promise.all(prompts.map(async (prompt, row) => (await engine.forward(row, [prompt], [prompt.length - 1]))[0]!));
  let want = prompts.map((prompt, row) => refs[row]!.forward(prompt).at(-1)!);
  for (let step = 0; step < 8; step++) {
    for (let row = 0; row < prompts.length; row++) {
      assert.ok(cosineSimilarity(logits[row]!, want[row]!) > 0.99, `prompt ${row} step ${step}: cosine ${cosineSimilarity(logits[row]!, want[row]!)}`);
      assert.is(argmax(logits[row]!), argmax(want[row]!), `prompt ${row} step ${step}: greedy token`);
    }
    // Every row decodes the reference's token, all three in one pass (3 rows: the stored-layout path).
    const next = want.map((row) => argmax(row));
    logits = await engine.decode(next);
    want = next.map((token, row) => refs[row]!.forward([token])[0]!);
  }
  await engine.session.release();
});

test('the engine on an int4 model: xllm\'s kernel by default here, ONNX Runtime\'s when asked, the same greedy tokens', async () => {
  if (unavailable) return void console.warn(`int4-kernel.test: ${unavailable}; skipped`);
  const model = ensureModel('tiny', 'int4');
  const prompt = [9707, 11, 1879, 0, 3555, 374, 279, 6722, 315, 9625, 30, 13, 1207, 42];
  const tokens: number[][] = [];
  for (const int4Kernel of ['auto', 'onnxruntime'] as const) {
    const engine = await Engine.load(model, { threads: 2, int4Kernel });
    assert.equal(engine.int4Kernel, int4Kernel === 'auto' ? { kernel: 'xllm', reason: 'AVX-512 VNNI: int8 activations × int4 weights' } : { kernel: 'onnxruntime', reason: 'asked for' });
    const result = await collect(engine.generate(greedyRequest('k', prompt, 12)));
    tokens.push(result.tokens[0]!);
    await engine.close();
  }
  assert.equal(tokens[0], tokens[1]);
  const fp32 = await Engine.load(ensureModel('tiny', 'fp32'), { threads: 1 });
  assert.is(fp32.int4Kernel, null, 'no int4 weights, no int4 kernel');
  await fp32.close();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
