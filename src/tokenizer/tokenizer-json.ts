// Reads tokenizer.json in two parts: C (wasm/tokenizer/tables.c) reads the big tables,
// model.vocab and model.merges, straight from the file's bytes and checks the whole file's JSON
// grammar; JSON.parse reads the rest (a few kB): the file with those two values cut out.
import { open, type FileHandle } from 'node:fs/promises';
import type { WasmUnit } from '../wasm/unit.ts';
import { byteLevelEncode } from './byte-level.ts';
import { fail, readTokenizerSpec, type TokenizerSpec } from './config.ts';

/** The model vocabulary by id, copied out of wasm memory: id i has bytes[offsets[i] .. offsets[i + 1]). */
export interface ModelVocab {
  bytes: Uint8Array;
  offsets: Int32Array;
  /** 1 where the vocabulary has the id (an id with empty bytes may exist). */
  present: Uint8Array;
}

// Indices into the report xl_tables_read writes (XL_REPORT_* in tables.h).
const R = {
  jsonError: 0, jsonErrorAt: 1, problem: 2, problemStart: 3, problemEnd: 4, problemNumber: 5,
  vocabStart: 6, vocabEnd: 7, mergesStart: 8, mergesEnd: 9,
  vocabCount: 10, vocabBytes: 11, vocabOffsets: 12, vocabPresent: 13,
  mergeCount: 14, mergeBytes: 15, mergeOffsets: 16,
  size: 17,
} as const;

const JSON_ERRORS: Record<number, string> = {
  1: 'unexpected end of the file',
  2: 'unexpected character',
  3: 'a control character or an invalid escape in a string',
  4: 'invalid number',
  5: 'nested deeper than 128 levels',
  6: 'text after the JSON value',
  7: 'model, model.vocab or model.merges given twice',
};
const JSON_STOPPED = 8;

const PROBLEM = { vocabId: 1, vocabNotByteLevel: 2, vocabIdTwice: 3, vocabIdTooLarge: 4, merge: 5 } as const;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** The C tables read from one tokenizer.json, alive in wasm memory until free(). */
export class WasmTables {
  constructor(
    private readonly unit: WasmUnit,
    private readonly handle: number,
    private readonly report: Int32Array,
  ) {}

  get vocabCount(): number {
    return this.report[R.vocabCount];
  }
  get vocabBytesPtr(): number {
    return this.report[R.vocabBytes];
  }
  get vocabOffsetsPtr(): number {
    return this.report[R.vocabOffsets];
  }
  get mergeCount(): number {
    return this.report[R.mergeCount];
  }
  get mergeBytesPtr(): number {
    return this.report[R.mergeBytes];
  }
  get mergeOffsetsPtr(): number {
    return this.report[R.mergeOffsets];
  }

  /** The left and right token of merge rule `rank`, spelled as in the file. */
  mergeTokens(rank: number): [string, string] {
    const [left, right, end] = this.unit.i32(this.mergeOffsetsPtr + rank * 8, 3);
    const bytes = this.unit.u8.subarray(this.mergeBytesPtr, this.mergeBytesPtr + end);
    return [byteLevelEncode(bytes.subarray(left, right)), byteLevelEncode(bytes.subarray(right, end))];
  }

  modelVocab(): ModelVocab {
    const count = this.vocabCount;
    const offsets = this.unit.i32(this.vocabOffsetsPtr, count + 1).slice();
    const at = this.vocabBytesPtr;
    return {
      bytes: this.unit.u8.slice(at, at + offsets[count]),
      offsets,
      present: this.unit.u8.slice(this.report[R.vocabPresent], this.report[R.vocabPresent] + count),
    };
  }

  free(): void {
    this.unit.exports.xl_tables_free(this.handle);
  }
}

function jsonError(path: string, text: Uint8Array, code: number, at: number): Error {
  if (code === JSON_STOPPED) return new Error(`tokenizer: out of memory reading ${path}`);
  const before = text.subarray(0, at);
  const lineStart = before.lastIndexOf(0x0a) + 1;
  const line = before.reduce((n, byte) => n + (byte === 0x0a ? 1 : 0), 1);
  const column = utf8.decode(before.subarray(lineStart)).length + 1;
  return new Error(`${path} is not valid JSON: ${JSON_ERRORS[code] ?? `error ${code}`} at line ${line} column ${column}`);
}

function throwProblem(text: Uint8Array, report: Int32Array): void {
  const quoted = () => utf8.decode(text.subarray(report[R.problemStart], report[R.problemEnd]));
  const number = report[R.problemNumber];
  switch (report[R.problem]) {
    case PROBLEM.vocabId:
      fail(`model.vocab id of ${quoted()} is not a non-negative integer`);
    case PROBLEM.vocabNotByteLevel:
      fail(`model.vocab token ${quoted()} is not byte-level`);
    case PROBLEM.vocabIdTwice:
      fail(`model.vocab id ${number} is used twice`);
    case PROBLEM.vocabIdTooLarge:
      fail(`model.vocab id of ${quoted()} is larger than ${number}`);
    case PROBLEM.merge:
      fail(`model.merges[${number}] is not a pair of byte-level tokens: ${quoted()}`);
  }
}

/** The file without the values at the given [start, end) spans, each replaced by its stand-in. */
function cutOut(text: Uint8Array, cuts: Array<{ start: number; end: number; standIn: string }>): string {
  let out = '';
  let done = 0;
  for (const cut of cuts.filter((c) => c.start >= 0).sort((a, b) => a.start - b.start)) {
    out += utf8.decode(text.subarray(done, cut.start)) + cut.standIn;
    done = cut.end;
  }
  return out + utf8.decode(text.subarray(done));
}

/** Reads a whole file into a fresh wasm allocation (its bytes are never copied through JS). */
async function readIntoWasm(unit: WasmUnit, path: string): Promise<{ ptr: number; length: number }> {
  let file: FileHandle | undefined;
  let ptr = 0;
  try {
    file = await open(path, 'r');
    const length = (await file.stat()).size;
    ptr = unit.malloc(length);
    for (let done = 0; done < length; ) {
      const { bytesRead } = await file.read(unit.u8, ptr + done, length - done, done);
      if (bytesRead === 0) throw new Error('the file shrank while it was read');
      done += bytesRead;
    }
    return { ptr, length };
  } catch (error) {
    unit.free(ptr);
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  } finally {
    await file?.close();
  }
}

/**
 * Reads tokenizer.json into unit's memory. On success the caller owns the returned tables and
 * frees them; every problem in the file is one Error naming it.
 */
export async function readTokenizerJson(unit: WasmUnit, path: string): Promise<{ spec: TokenizerSpec; tables: WasmTables }> {
  const { ptr, length } = await readIntoWasm(unit, path);
  const reportPtr = unit.malloc(R.size * 4);
  let tables: WasmTables | undefined;
  try {
    const handle = unit.exports.xl_tables_read(ptr, length, reportPtr) as number;
    if (!handle) throw new Error(`tokenizer: out of memory reading ${path}`);
    const report = unit.i32(reportPtr, R.size).slice();
    tables = new WasmTables(unit, handle, report);
    const text = unit.u8.subarray(ptr, ptr + length);
    if (report[R.jsonError]) throw jsonError(path, text, report[R.jsonError], report[R.jsonErrorAt]);
    const rest = cutOut(text, [
      { start: report[R.vocabStart], end: report[R.vocabEnd], standIn: '{}' },
      { start: report[R.mergesStart], end: report[R.mergesEnd], standIn: '[]' },
    ]);
    let json: unknown;
    try {
      json = JSON.parse(rest);
    } catch (error) {
      throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
    }
    const spec = readTokenizerSpec(json);
    throwProblem(text, report);
    return { spec, tables };
  } catch (error) {
    tables?.free();
    throw error;
  } finally {
    // Freed before the tokenizer's own tables are built, which then reuse its memory.
    unit.free(ptr);
    unit.free(reportPtr);
  }
}
