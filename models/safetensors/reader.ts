// Reads a Hugging Face safetensors checkpoint (one file, or shards listed in
// model.safetensors.index.json) tensor by tensor: only the tensor asked for is in memory.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fromBfloat16, fromFloat16 } from '../numeric/half.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';
const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset in the file. */
  start: number;
  length: number;
}

interface OpenFile {
  fd: number;
  path: string;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function readExactly(fd: number, target: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) throw new Error(`${path}: unexpected end of file`);
    done += n;
  }
}

function readHeader(file: OpenFile, into: Map<string, TensorInfo>): void {
  const size = fstatSync(file.fd).size;
  const prefix = new Uint8Array(8);
  if (size < 8) throw new Error(`${file.path}: not a safetensors file (too short)`);
  readExactly(file.fd, prefix, 0, file.path);
  const headerLength = Number(new DataView(prefix.buffer).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) throw new Error(`${file.path}: not a safetensors file (bad header length)`);
  const headerBytes = new Uint8Array(headerLength);
  readExactly(file.fd, headerBytes, 8, file.path);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch {
    throw new Error(`${file.path}: safetensors header is not valid JSON`);
  }
  const dataStart = 8 + headerLength;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!(entry.dtype in BYTES)) throw new Error(`${file.path}: tensor ${name} has dtype ${entry.dtype}; supported: F32, F16, BF16`);
    const dtype = entry.dtype as SafetensorsDtype;
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype] || dataStart + end > size) {
      throw new Error(`${file.path}: tensor ${name} has inconsistent offsets for shape [${entry.shape}] ${dtype}`);
    }
    into.set(name, { name, dtype, shape: entry.shape, file: file.path, start: dataStart + begin, length: end - begin });
  }
}

export class SafetensorsCheckpoint {
  /** Called after each tensor is read the first time, with its stored bytes (progress reports). */
  onFirstRead: ((bytes: number) => void) | null = null;
  private readonly seen = new Set<string>();

  private constructor(
    private readonly files: Map<string, OpenFile>,
    private readonly tensors: Map<string, TensorInfo>,
    private readonly aliases: ReadonlyArray<readonly [string, string]>,
  ) {}

  /**
   * Opens `dir/model.safetensors.index.json` if present, else `dir/model.safetensors`.
   * `aliases` (prefix → prefix) name other spellings to look a tensor up under when its
   * classic name is absent (newer transformers' renames).
   */
  static open(dir: string, aliases: ReadonlyArray<readonly [string, string]> = []): SafetensorsCheckpoint {
    const indexPath = join(dir, 'model.safetensors.index.json');
    let fileNames: string[];
    if (existsSync(indexPath)) {
      let weightMap: Record<string, string>;
      try {
        weightMap = JSON.parse(readFileSync(indexPath, 'utf8')).weight_map;
      } catch (err) {
        throw new Error(`${indexPath}: not valid JSON (${(err as Error).message})`);
      }
      if (!weightMap || typeof weightMap !== 'object') throw new Error(`${indexPath}: missing weight_map`);
      fileNames = [...new Set(Object.values(weightMap))];
    } else if (existsSync(join(dir, 'model.safetensors'))) {
      fileNames = ['model.safetensors'];
    } else {
      throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json`);
    }
    const files = new Map<string, OpenFile>();
    const tensors = new Map<string, TensorInfo>();
    try {
      for (const f of fileNames) {
        const path = join(dir, f);
        if (!existsSync(path)) throw new Error(`${path}: shard listed in the index is missing`);
        const file = { fd: openSync(path, 'r'), path };
        files.set(path, file);
        readHeader(file, tensors);
      }
    } catch (err) {
      for (const f of files.values()) closeSync(f.fd);
      throw err;
    }
    return new SafetensorsCheckpoint(files, tensors, aliases);
  }

  /** Stored bytes of all tensors. */
  get totalBytes(): number {
    let total = 0;
    for (const t of this.tensors.values()) total += t.length;
    return total;
  }

  private info(name: string): TensorInfo {
    const t = this.tensors.get(name) ?? this.aliases.flatMap(([from, to]) => (name.startsWith(from) ? [this.tensors.get(to + name.slice(from.length))] : [])).find(Boolean);
    if (!t) throw new Error(`checkpoint has no tensor ${name}`);
    return t;
  }

  /** Reads one tensor as float32, checking its shape. */
  read(name: string, expectedShape: number[]): Float32Array {
    return this.readRows(name, expectedShape, 0, expectedShape[0] ?? 1);
  }

  /**
   * Reads rows [start, start + count) of a tensor as float32 (a row spans every dimension
   * but the first), checking its shape: large tables are converted a slice at a time.
   */
  readRows(name: string, expectedShape: number[], start: number, count: number): Float32Array {
    const t = this.info(name);
    if (t.shape.length !== expectedShape.length || t.shape.some((d, i) => d !== expectedShape[i])) {
      throw new Error(`tensor ${name} has shape [${t.shape}], expected [${expectedShape}]`);
    }
    const rows = t.shape[0] ?? 1;
    if (start < 0 || count < 0 || start + count > rows) throw new Error(`tensor ${name}: rows ${start}..${start + count} outside its ${rows}`);
    const rowBytes = t.length / rows;
    const position = t.start + start * rowBytes;
    const file = this.files.get(t.file)!;
    let out: Float32Array;
    if (t.dtype === 'F32') {
      out = new Float32Array((count * rowBytes) / 4);
      readExactly(file.fd, new Uint8Array(out.buffer), position, file.path);
    } else {
      const bits = new Uint16Array((count * rowBytes) / 2);
      readExactly(file.fd, new Uint8Array(bits.buffer), position, file.path);
      out = t.dtype === 'F16' ? fromFloat16(bits) : fromBfloat16(bits);
    }
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.onFirstRead?.(t.length);
    }
    return out;
  }

  close(): void {
    for (const f of this.files.values()) closeSync(f.fd);
    this.files.clear();
  }
}
