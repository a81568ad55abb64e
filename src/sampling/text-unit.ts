// One shared instance of the sampler unit for the small text jobs (stop strings, selector
// ids), instantiated synchronously at import so those APIs stay synchronous (top-level
// await would break CommonJS loaders such as `uvu -r tsx`). Compiling synchronously is
// fine on Node and Bun; the unit is small.
import { readFileSync } from 'node:fs';
import { WasmUnit, wasmPath } from '../wasm/unit.ts';
import { Arena } from './arena.ts';

function instantiateSync(): WasmUnit {
  const module = new WebAssembly.Module(readFileSync(wasmPath('sampler')));
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const { module: mod, name } of WebAssembly.Module.imports(module)) {
    imports[mod] ??= {};
    // Memory growth needs no action (views are recreated lazily); nothing else may be called.
    imports[mod][name] =
      name === 'emscripten_notify_memory_growth'
        ? () => {}
        : () => {
            throw new Error(`wasm: import ${mod}.${name} called`);
          };
  }
  const unit = new WasmUnit(new WebAssembly.Instance(module, imports));
  unit.exports._initialize?.();
  return unit;
}

export const textUnit = instantiateSync();
export const textArena = new Arena(textUnit, 4096);
