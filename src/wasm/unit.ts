// Loads one of our C units compiled by build.sh (emscripten STANDALONE_WASM, no JS glue),
// so the same .wasm runs on Node, Bun and in a browser.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package.ts';

export type WasmUnitName = 'tokenizer' | 'sampler';

/** A live instance of a unit: its exports plus views over its (growable) memory. */
export class WasmUnit {
  readonly exports: Record<string, any>;
  readonly memory: WebAssembly.Memory;
  private buffer: ArrayBuffer | null = null;
  private u8view = new Uint8Array(0);

  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as Record<string, any>;
    this.memory = this.exports.memory as WebAssembly.Memory;
  }

  /** Bytes of the whole memory; recreated after the memory grows (views then detach). */
  get u8(): Uint8Array {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.u8view = new Uint8Array(this.buffer);
    }
    return this.u8view;
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  malloc(bytes: number): number {
    const ptr = this.exports.malloc(Math.max(bytes, 1)) as number;
    if (ptr === 0) throw new Error(`wasm: out of memory allocating ${bytes} bytes`);
    return ptr;
  }
  free(ptr: number): void {
    if (ptr) this.exports.free(ptr);
  }
  /** Copies bytes into a fresh allocation; the caller frees it. */
  copyIn(bytes: Uint8Array | Int32Array | Float32Array): number {
    const ptr = this.malloc(bytes.byteLength);
    this.u8.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ptr);
    return ptr;
  }
}

const compiled = new Map<WasmUnitName, Promise<WebAssembly.Module>>();

function compile(name: WasmUnitName): Promise<WebAssembly.Module> {
  let module = compiled.get(name);
  if (!module) {
    module = readFile(wasmPath(name)).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(name, module);
  }
  return module;
}

/** The built unit: wasm/build/NAME.wasm under the package root (build.sh writes it). */
export function wasmPath(name: WasmUnitName): string {
  return join(PACKAGE_ROOT, 'wasm', 'build', `${name}.wasm`);
}

/** Imports the C code never needs at run time fail loudly instead of silently. */
function importsFor(module: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const { module: mod, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') throw new Error(`wasm: unexpected import ${mod}.${name} (${kind})`);
    imports[mod] ??= {};
    imports[mod][name] =
      name === 'emscripten_notify_memory_growth'
        ? () => {} // views are recreated lazily, see WasmUnit.u8
        : () => {
            throw new Error(`wasm: import ${mod}.${name} called`);
          };
  }
  return imports;
}

/** A new instance (own memory) of a unit; the compiled module is shared. */
export async function loadWasmUnit(name: WasmUnitName): Promise<WasmUnit> {
  const module = await compile(name);
  const instance = await WebAssembly.instantiate(module, importsFor(module));
  const unit = new WasmUnit(instance);
  unit.exports._initialize?.();
  return unit;
}
