// The batch sampler over the C unit (wasm/sampler): one logits buffer of maxRows × vocab
// floats lives in its wasm memory, written by the model (e.g. as an ONNX Runtime
// pre-allocated output), then read row by row: raw log_softmax, top-N, processors,
// truncation and a seeded draw.
import { loadWasmUnit, type WasmUnit } from '../wasm/unit.ts';
import { Arena, Layout } from './arena.ts';
import { MAX_TOP_LOGPROBS, type SamplingParams } from './params.ts';
import type { RngState } from './rng.ts';
import { checkStatus } from './status.ts';

export type { RngState } from './rng.ts';

/** One row of a step. */
export interface SampleRow {
  /** Logits row it reads; defaults to its index in the batch. */
  row?: number;
  params: SamplingParams;
  /** Prompt tokens (repetition penalty). */
  promptTokens: ArrayLike<number>;
  /** Tokens generated so far (repetition, presence and frequency penalties). */
  outputTokens: ArrayLike<number>;
  /** The request's generator, advanced in place by the draw. */
  rng: RngState;
  /** Raw top logprobs to report, 0..20 (default 0). */
  topN?: number;
  /** Report the drawn token's logprob (default true); without it and without top logprobs no log-softmax is computed. */
  withLogprob?: boolean;
}

/** Token ids with their raw log_softmax values, highest first. */
export interface TopLogprobs {
  ids: number[];
  logprobs: number[];
}

export interface RowResult {
  token: number;
  /** Raw model log_softmax of the token (before penalties, temperature, truncation); NaN when not asked for. */
  logprob: number;
  top: TopLogprobs;
}

/** The tokens a draw can return after processing and truncation, with probabilities. */
export interface KeptTokens {
  ids: number[];
  probs: number[];
}

// Byte layout of xl_sample_params and xl_sample_result (checked by _Static_assert in C).
const PARAMS_BYTES = 96;
const RESULT_BYTES = 256;

const NO_HISTORY = { promptTokens: [], outputTokens: [] };

/**
 * The token histories the C unit needs: only the penalties read them (repetition: prompt and
 * output, presence and frequency: output), so without penalties none is copied or checked,
 * which saves O(context) per row and step.
 */
function histories(input: Omit<SampleRow, 'rng' | 'row'>): Pick<SampleRow, 'promptTokens' | 'outputTokens'> {
  const { repetitionPenalty, presencePenalty, frequencyPenalty } = input.params;
  if (repetitionPenalty !== 1) return input;
  if (presencePenalty !== 0 || frequencyPenalty !== 0) return { promptTokens: [], outputTokens: input.outputTokens };
  return NO_HISTORY;
}

export class Sampler {
  private readonly arena: Arena;

  private constructor(
    readonly unit: WasmUnit,
    private readonly handle: number,
    readonly vocabSize: number,
    readonly maxRows: number,
    /** Address of logits row 0 in the unit's memory. */
    readonly logitsPointer: number,
  ) {
    this.arena = new Arena(unit, 64 * 1024);
  }

  static async create(vocabSize: number, maxRows: number): Promise<Sampler> {
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`sampler: vocabSize must be a positive integer, got ${vocabSize}`);
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new Error(`sampler: maxRows must be a positive integer, got ${maxRows}`);
    const unit = await loadWasmUnit('sampler');
    const handle = unit.exports.xl_sampler_new(vocabSize, maxRows) as number;
    if (!handle) throw new Error(`sampler: out of memory for ${maxRows} rows of ${vocabSize} logits`);
    return new Sampler(unit, handle, vocabSize, maxRows, unit.exports.xl_sampler_logits(handle) as number);
  }

  /** The first `rows` logit rows; recreate after anything that may grow wasm memory. */
  logitsView(rows = this.maxRows): Float32Array {
    this.checkRows(rows);
    return this.unit.f32(this.logitsPointer, rows * this.vocabSize);
  }

  /** Draws one token per row from the processed distribution; reports raw logprobs. */
  sample(rows: readonly SampleRow[]): RowResult[] {
    this.checkRows(rows.length);
    return rows.map((row, index) => this.sampleRow(row.row ?? index, row));
  }

  /** Top-n (≤ 20) of the raw log_softmax of logits row `row` (prompt logprobs, /v1/sample). */
  logSoftmaxTopN(row: number, n: number): TopLogprobs {
    this.checkRow(row);
    if (!Number.isInteger(n) || n < 0 || n > MAX_TOP_LOGPROBS) throw new Error(`sampler: top-n must be 0..${MAX_TOP_LOGPROBS}, got ${n}`);
    const layout = new Layout();
    const idsAt = layout.take(4 * MAX_TOP_LOGPROBS);
    const logprobsAt = layout.take(8 * MAX_TOP_LOGPROBS);
    const base = this.arena.reserve(layout.size);
    const count = checkStatus(
      this.unit.exports.xl_log_softmax_top_n(this.rowPointer(row), this.vocabSize, n, base + idsAt, base + logprobsAt),
      `sampler: row ${row}`,
    );
    return {
      ids: Array.from(this.unit.i32(base + idsAt, count)),
      logprobs: Array.from(new Float64Array(this.unit.memory.buffer, base + logprobsAt, count)),
    };
  }

  /** Raw log_softmax of tokens at logits row `row` (prompt logprobs, scored ids): one pass over the row for all of them. */
  logprobsOf(row: number, tokenIds: readonly number[]): number[] {
    this.checkRow(row);
    for (const tokenId of tokenIds) {
      if (!Number.isInteger(tokenId) || tokenId < 0 || tokenId >= this.vocabSize) {
        throw new Error(`sampler: token id ${tokenId} is outside the vocabulary of ${this.vocabSize}`);
      }
    }
    const stats = this.arena.reserve(16);
    checkStatus(this.unit.exports.xl_row_stats(this.rowPointer(row), this.vocabSize, stats), `sampler: row ${row}`);
    const [max, logsum] = new Float64Array(this.unit.memory.buffer, stats, 2);
    const logits = this.logitsView(row + 1).subarray(row * this.vocabSize);
    return tokenIds.map((tokenId) => logits[tokenId] - max - logsum);
  }

  /** What a draw from logits row `row` with these inputs could return (ids in no set order). */
  keptTokens(row: number, input: Omit<SampleRow, 'rng' | 'row'>): KeptTokens {
    this.checkRow(row);
    const layout = new Layout();
    const staged = this.stageInputs(layout, input);
    const idsAt = layout.take(4 * this.vocabSize);
    const probsAt = layout.take(8 * this.vocabSize);
    const base = this.arena.reserve(layout.size);
    this.writeInputs(base, staged, input, new Uint32Array(4));
    const count = checkStatus(
      this.unit.exports.xl_sampler_kept(this.handle, row, base + staged.paramsAt, base + idsAt, base + probsAt),
      `sampler: row ${row}`,
    );
    return {
      ids: Array.from(this.unit.i32(base + idsAt, count)),
      probs: Array.from(new Float64Array(this.unit.memory.buffer, base + probsAt, count)),
    };
  }

  /** Frees the wasm allocations; the sampler is unusable afterwards. */
  dispose(): void {
    this.arena.release();
    this.unit.exports.xl_sampler_free(this.handle);
  }

  /** Address of logits row `row`, for callers that read rows in C (beam step). */
  rowPointer(row: number): number {
    this.checkRow(row);
    return this.logitsPointer + row * this.vocabSize * 4;
  }

  /** Staging memory for per-call inputs of helpers sharing this unit (beam step). */
  reserveStaging(bytes: number): number {
    return this.arena.reserve(bytes);
  }

  private sampleRow(index: number, row: SampleRow): RowResult {
    this.checkRow(index);
    if (!(row.rng instanceof Uint32Array) || row.rng.length !== 4) throw new Error(`sampler: row ${index} needs a 4-word rng state`);
    const topN = row.topN ?? 0;
    if (!Number.isInteger(topN) || topN < 0 || topN > MAX_TOP_LOGPROBS) throw new Error(`sampler: top-n must be 0..${MAX_TOP_LOGPROBS}, got ${topN}`);
    const layout = new Layout();
    const staged = this.stageInputs(layout, row);
    const resultAt = layout.take(RESULT_BYTES);
    const base = this.arena.reserve(layout.size);
    this.writeInputs(base, staged, row, row.rng);
    checkStatus(
      this.unit.exports.xl_sampler_sample(this.handle, index, base + staged.paramsAt, topN, row.withLogprob === false ? 0 : 1, base + resultAt),
      `sampler: row ${index}`,
    );
    const memory = this.unit.memory.buffer;
    row.rng.set(new Uint32Array(memory, base + staged.paramsAt + 80, 4));
    const result = new DataView(memory, base + resultAt, RESULT_BYTES);
    const count = result.getInt32(4, true);
    return {
      token: result.getInt32(0, true),
      logprob: result.getFloat64(8, true),
      top: {
        ids: Array.from(new Int32Array(memory, base + resultAt + 16, count)),
        logprobs: Array.from(new Float64Array(memory, base + resultAt + 96, count)),
      },
    };
  }

  private stageInputs(layout: Layout, input: Omit<SampleRow, 'rng' | 'row'>) {
    const bias = input.params.logitBias.size;
    const { promptTokens, outputTokens } = histories(input);
    return {
      promptTokens,
      outputTokens,
      paramsAt: layout.take(PARAMS_BYTES),
      promptAt: layout.take(4 * promptTokens.length),
      outputAt: layout.take(4 * outputTokens.length),
      biasIdsAt: layout.take(4 * bias),
      biasValuesAt: layout.take(4 * bias),
    };
  }

  private writeInputs(base: number, at: ReturnType<Sampler['stageInputs']>, input: Omit<SampleRow, 'rng' | 'row'>, rng: RngState): void {
    const { params } = input;
    const { promptTokens, outputTokens } = at;
    const memory = this.unit.memory.buffer;
    const view = new DataView(memory, base + at.paramsAt, PARAMS_BYTES);
    [params.temperature, params.topP, params.minP, params.presencePenalty, params.frequencyPenalty, params.repetitionPenalty].forEach(
      (value, i) => view.setFloat64(8 * i, value, true),
    );
    const fields = [params.topK, promptTokens.length, base + at.promptAt, outputTokens.length, base + at.outputAt];
    fields.push(params.logitBias.size, base + at.biasIdsAt, base + at.biasValuesAt);
    fields.forEach((value, i) => view.setInt32(48 + 4 * i, value, true));
    new Uint32Array(memory, base + at.paramsAt + 80, 4).set(rng);
    new Int32Array(memory, base + at.promptAt, promptTokens.length).set(promptTokens);
    new Int32Array(memory, base + at.outputAt, outputTokens.length).set(outputTokens);
    new Int32Array(memory, base + at.biasIdsAt, params.logitBias.size).set([...params.logitBias.keys()]);
    new Float32Array(memory, base + at.biasValuesAt, params.logitBias.size).set([...params.logitBias.values()]);
  }

  private checkRows(rows: number): void {
    if (!Number.isInteger(rows) || rows < 0 || rows > this.maxRows) {
      throw new Error(`sampler: ${rows} rows requested, the buffer holds ${this.maxRows}`);
    }
  }

  private checkRow(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.maxRows) {
      throw new Error(`sampler: row ${row} is outside the buffer of ${this.maxRows} rows`);
    }
  }
}
