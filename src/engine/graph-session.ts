// Runs the text graph, whose every output the caller preallocates (logits into the sampler's
// memory, the KV cache in place). Two runtimes do it:
// - 'native': our Node-API addon (native/ort_session.c) over ONNX Runtime's C API, which lays
//   every tensor over the caller's typed arrays and copies nothing;
// - 'onnxruntime-node': its JS binding, which copies every fetched output into a fresh array
//   after a run (DESIGN.md), the KV cache included: tens of MB a step at long contexts.
// Both load the same libonnxruntime that onnxruntime-node ships. The addon is built at install
// time when a C compiler and Node's headers are there (native/build.mjs); without it, and for
// the GPU providers, which it does not set up, onnxruntime-node runs the graph.
//
// The native runtime can also give a session our int4 kernel (native/int4_matmul.c), which
// takes over the graph's MatMulNBits nodes from ONNX Runtime's MLAS on CPUs with AVX-512 VNNI:
// about twice MLAS's speed on a prefill's many rows, level on a decode step's few.
import * as ort from 'onnxruntime-node';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../package.ts';

export type Runtime = 'native' | 'onnxruntime-node';
export type RuntimeChoice = Runtime | 'auto';
/** What multiplies by the int4 weights (MatMulNBits): ours ('xllm') or ONNX Runtime's own. */
export type Int4Kernel = 'xllm' | 'onnxruntime';
export type Int4KernelChoice = Int4Kernel | 'auto';

export interface Int4KernelUse {
  kernel: Int4Kernel;
  /** Asked for, or why `auto` chose it. */
  reason: string;
}

export interface GraphSession {
  readonly runtime: Runtime;
  /** What runs the graph's int4 products; null when the caller did not ask (no int4 weights). */
  readonly int4Kernel: Int4KernelUse | null;
  /**
   * Writes the outputs into `fetches`' buffers, but for those the session leaves on the device
   * (SessionSettings.deviceOutputs), which it returns as GPU tensors for the caller to dispose.
   * `segments` ((first slot, rows, seq) triples): the native runtime's attention runs each over
   * its own KV slots (native/attention_op.c).
   */
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor>, segments?: Int32Array): Promise<Record<string, ort.Tensor>>;
  /** Refuses new runs at once; the session itself goes once the pending runs have finished. */
  release(): Promise<void>;
}

export interface SessionSettings {
  providers: string[];
  threads?: number;
  /** For a graph with int4 weights: which kernel runs them (see the top of this file). */
  int4Kernel?: Int4KernelChoice;
  /** Outputs ONNX Runtime leaves on the GPU (webgpu only): the KV cache's presents. */
  deviceOutputs?: string[];
}

/** The options every session of ours is created with, in onnxruntime-node's terms. */
export function ortSessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: settings.providers,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(settings.threads ? { intraOpNumThreads: settings.threads } : {}),
    ...(settings.deviceOutputs?.length ? { preferredOutputLocation: Object.fromEntries(settings.deviceOutputs.map((name) => [name, 'gpu-buffer' as const])) } : {}),
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
    if (settings.int4Kernel === 'xllm') throw new Error("int4 kernel 'xllm' runs on the native runtime only (the cpu device, with the addon built)");
    const session = await ort.InferenceSession.create(path, ortSessionOptions(settings));
    const onDevice = settings.deviceOutputs ?? [];
    const pending = new Set<Promise<unknown>>();
    let released = false;
    return {
      runtime,
      int4Kernel: settings.int4Kernel ? { kernel: 'onnxruntime', reason: 'onnxruntime-node runs ONNX Runtime\'s own kernels' } : null,
      async run(feeds, fetches, segments) {
        if (released) throw new Error('session released');
        if (segments) throw new Error('onnxruntime-node runs no segmented passes (the native runtime does)');
        const running = session.run(feeds, { ...fetches, ...Object.fromEntries(onDevice.map((name) => [name, null])) });
        pending.add(running);
        try {
          const outputs = await running;
          if (onDevice.length === 0) return {};
          // With outputs on the device, onnxruntime-node binds every output itself (IO binding)
          // and leaves the host ones in fresh arrays: copy them into the caller's.
          for (const name in fetches) (fetches[name].data as Float32Array).set(outputs[name].data as Float32Array);
          return Object.fromEntries(onDevice.map((name) => [name, outputs[name]]));
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
  const { handle, int4Kernel } = await createNativeSession(binding, path, settings);
  return {
    runtime,
    int4Kernel,
    run(feeds, fetches, segments) {
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
      return binding.run(handle, names, tensors, inputCount, segments ?? null).then(() => ({}));
    },
    // The addon defers the release past pending runs itself (native/ort_session.c).
    release: async () => binding.releaseSession(handle),
  };
}

/** Why our int4 kernel cannot run here (no addon, or a CPU without AVX-512 VNNI), or null. */
export function int4KernelUnavailable(): string | null {
  const addon = nativeAddon();
  return addon.ok ? addon.binding.int4KernelUnavailable() : `runtime 'native' unavailable: ${addon.reason}`;
}

/** A native session with the int4 kernel asked for; `auto` falls back to ONNX Runtime's, saying why. */
async function createNativeSession(binding: NativeBinding, path: string, settings: SessionSettings): Promise<{ handle: object; int4Kernel: Int4KernelUse | null }> {
  const threads = settings.threads ?? 0;
  const choice = settings.int4Kernel;
  if (!choice || choice === 'onnxruntime') {
    const handle = await binding.createSession(path, threads, false);
    return { handle, int4Kernel: choice ? { kernel: 'onnxruntime', reason: 'asked for' } : null };
  }
  const unavailable = int4KernelUnavailable();
  if (choice === 'xllm') {
    if (unavailable) throw new Error(`int4 kernel 'xllm': ${unavailable}`);
    return { handle: await binding.createSession(path, threads, true), int4Kernel: { kernel: 'xllm', reason: 'asked for' } };
  }
  if (unavailable) return { handle: await binding.createSession(path, threads, false), int4Kernel: { kernel: 'onnxruntime', reason: unavailable } };
  try {
    return { handle: await binding.createSession(path, threads, true), int4Kernel: { kernel: 'xllm', reason: 'AVX-512 VNNI: int8 activations × int4 weights' } };
  } catch (error) {
    // Our kernel takes 4-bit, 32-wide blocks at accuracy_level 4; a graph with others opens without it.
    const reason = `xllm's kernel refused this graph: ${(error as Error).message}`;
    return { handle: await binding.createSession(path, threads, false), int4Kernel: { kernel: 'onnxruntime', reason } };
  }
}

type NativeTensor = [Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array, readonly number[]];

interface NativeBinding {
  load(libraryPath: string): string;
  createSession(path: string, intraOpThreads: number, int4Kernel: boolean): Promise<object>;
  /** Why our int4 kernel cannot run on this CPU, or null. */
  int4KernelUnavailable(): string | null;
  run(session: object, names: string[], tensors: NativeTensor[], inputCount: number, segments: Int32Array | null): Promise<void>;
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
    binding.load(onnxRuntimeLibrary());
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
function onnxRuntimeLibrary(): string {
  const { dir, library } = onnxRuntimeFolder();
  return join(dir, library);
}

/**
 * The folder of onnxruntime-node's package that holds ONNX Runtime's libraries for this
 * platform; its install script downloads the CUDA provider's library into the same folder.
 */
export function onnxRuntimeFolder(): { dir: string; library: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const binDir = join(packageDir, 'bin');
  for (const napi of readdirSync(binDir)) {
    const dir = join(binDir, napi, process.platform, process.arch);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    const library = files.find((f) => f === 'libonnxruntime.so.1' || /^libonnxruntime\.\d+\.dylib$/.test(f) || f === 'onnxruntime.dll');
    if (library) return { dir, library };
  }
  throw new Error(`no ONNX Runtime library for ${process.platform}-${process.arch} in ${binDir}`);
}
