// Runs the text graph, whose every output the caller preallocates (logits into the sampler's
// memory, the KV cache in place). Two runtimes do it:
// - 'native': our Node-API addon (native/ort_session.c) over ONNX Runtime's C API, which lays
//   every tensor over the caller's typed arrays and copies nothing;
// - 'onnxruntime-node': its JS binding, which copies every fetched output into a fresh array
//   after a run (DESIGN.md), the KV cache included: tens of MB a step at long contexts.
// Both load the same libonnxruntime that onnxruntime-node ships. The addon is built at install
// time when a C compiler and Node's headers are there (native/build.mjs); without it, and for
// the GPU providers, which it does not set up, onnxruntime-node runs the graph.
import * as ort from 'onnxruntime-node';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../package.ts';

export type Runtime = 'native' | 'onnxruntime-node';
export type RuntimeChoice = Runtime | 'auto';

export interface GraphSession {
  readonly runtime: Runtime;
  /** Writes the outputs into `fetches`' buffers. */
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor>): Promise<void>;
  /** Refuses new runs at once; the session itself goes once the pending runs have finished. */
  release(): Promise<void>;
}

export interface SessionSettings {
  providers: string[];
  threads?: number;
}

/** The options every session of ours is created with, in onnxruntime-node's terms. */
export function ortSessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: settings.providers,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(settings.threads ? { intraOpNumThreads: settings.threads } : {}),
  };
}

/** Which runtime serves `choice` on these providers; an explicit 'native' it cannot serve throws. */
export function resolveRuntime(choice: RuntimeChoice, providers: string[]): Runtime {
  if (choice === 'onnxruntime-node') return choice;
  const cpu = providers.length === 1 && providers[0] === 'cpu';
  if (choice === 'auto') return cpu && nativeAddon().ok ? 'native' : 'onnxruntime-node';
  if (!cpu) throw new Error(`runtime 'native' runs on the cpu device only (asked for ${providers.join(', ')})`);
  nativeBinding(); // throws, naming why, when the addon is not there
  return choice;
}

export async function createGraphSession(path: string, runtime: Runtime, settings: SessionSettings): Promise<GraphSession> {
  if (runtime === 'onnxruntime-node') {
    const session = await ort.InferenceSession.create(path, ortSessionOptions(settings));
    const pending = new Set<Promise<unknown>>();
    let released = false;
    return {
      runtime,
      async run(feeds, fetches) {
        if (released) throw new Error('session released');
        const running = session.run(feeds, fetches);
        pending.add(running);
        try {
          await running;
        } finally {
          pending.delete(running);
        }
      },
      async release() {
        released = true;
        await Promise.allSettled(pending);
        await session.release();
      },
    };
  }
  const binding = nativeBinding();
  const handle = await binding.createSession(path, settings.threads ?? 0);
  return {
    runtime,
    run(feeds, fetches) {
      const names: string[] = [];
      const tensors: NativeTensor[] = [];
      const add = (group: Record<string, ort.Tensor>) => {
        for (const name in group) {
          names.push(name);
          tensors.push([group[name].data as NativeTensor[0], group[name].dims]);
        }
      };
      add(feeds);
      const inputCount = names.length;
      add(fetches);
      return binding.run(handle, names, tensors, inputCount);
    },
    // The addon defers the release past pending runs itself (native/ort_session.c).
    release: async () => binding.releaseSession(handle),
  };
}

type NativeTensor = [Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array, readonly number[]];

interface NativeBinding {
  load(libraryPath: string): string;
  createSession(path: string, intraOpThreads: number): Promise<object>;
  run(session: object, names: string[], tensors: NativeTensor[], inputCount: number): Promise<void>;
  releaseSession(session: object): void;
}

type AddonState = { ok: true; binding: NativeBinding } | { ok: false; reason: string };
let addonState: AddonState | null = null;

/** The addon, loaded once and bound to onnxruntime-node's own library; or why not. */
function nativeAddon(): AddonState {
  if (addonState) return addonState;
  const require = createRequire(import.meta.url);
  const addonPath = join(PACKAGE_ROOT, 'native', 'build', 'ort_session.node');
  try {
    const binding = require(addonPath) as NativeBinding;
    binding.load(onnxRuntimeLibrary(require));
    addonState = { ok: true, binding };
  } catch (error) {
    addonState = { ok: false, reason: `${(error as Error).message} (the addon is built by \`npm install\`: native/build.mjs)` };
  }
  return addonState;
}

/** The loaded addon, or an error saying why there is none. */
function nativeBinding(): NativeBinding {
  const addon = nativeAddon();
  if (!addon.ok) throw new Error(`runtime 'native' unavailable: ${addon.reason}`);
  return addon.binding;
}

/** The ONNX Runtime shared library inside onnxruntime-node's package, for this platform. */
function onnxRuntimeLibrary(require: NodeJS.Require): string {
  const packageDir = dirname(require.resolve('onnxruntime-node/package.json'));
  const binDir = join(packageDir, 'bin');
  for (const napi of readdirSync(binDir)) {
    const dir = join(binDir, napi, process.platform, process.arch);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    const library = files.find((f) => f === 'libonnxruntime.so.1' || /^libonnxruntime\.\d+\.dylib$/.test(f));
    if (library) return join(dir, library);
  }
  throw new Error(`no ONNX Runtime library for ${process.platform}-${process.arch} in ${binDir}`);
}
