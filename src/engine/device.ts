// Picks ONNX Runtime's execution provider for `--device`. An explicit device is that provider
// or a clear error; `auto` tries cuda (when its provider is installed), then webgpu (when a
// Vulkan loader is there on Linux and an adapter answers), then the cpu, and says why it
// passed over each one it did not take.
import * as ort from 'onnxruntime-node';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnxRuntimeFolder } from './graph-session.ts';
import type { Device } from './types.ts';

export type Provider = 'cpu' | 'cuda' | 'webgpu';

/** The provider a model was opened with, and why that one. */
export interface DeviceChoice {
  provider: Provider;
  reason: string;
}

/**
 * Whether this onnxruntime-node has the provider: built in (cpu, webgpu), or, for cuda, built
 * for and its library downloaded by the package's install script next to ONNX Runtime's own.
 */
export function installed(name: Provider, folder: () => string = () => onnxRuntimeFolder().dir): boolean {
  const backend = ort.listSupportedBackends().find((b) => b.name === name);
  if (!backend) return false;
  if (backend.bundled || name === 'cpu') return true;
  return name === 'cuda' && existsSync(join(folder(), process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
}

const notInstalled: Record<Exclude<Provider, 'cpu'>, string> = {
  cuda:
    'the CUDA execution provider is not installed: onnxruntime-node ships it as a separate download; ' +
    'on a machine with CUDA 12 and cuDNN 9 run `npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12` (needs network)',
  webgpu: 'the WebGPU execution provider is not available in this onnxruntime-node build',
};

const NO_VULKAN = 'no Vulkan loader (libvulkan.so.1) found: WebGPU runs on a GPU with a Vulkan driver (libvulkan.so.1 and the GPU vendor\'s ICD)';

/**
 * Whether the dynamic linker can find the Vulkan loader that Dawn (ONNX Runtime's WebGPU on
 * Linux) opens: in LD_LIBRARY_PATH, a directory ld.so.conf names, or a usual library directory.
 * Without one, probing webgpu only makes Dawn print a warning, so `auto` passes it over at once.
 * Other systems' WebGPU needs no Vulkan: true there.
 */
export function vulkanLoaderFound(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const confDir = '/etc/ld.so.conf.d';
  const confs = existsSync(confDir) ? readdirSync(confDir).filter((f) => f.endsWith('.conf')).map((f) => join(confDir, f)) : [];
  for (const conf of ['/etc/ld.so.conf', ...confs]) {
    if (!existsSync(conf)) continue;
    for (const line of readFileSync(conf, 'utf8').split('\n')) if (line.startsWith('/')) dirs.push(line.trim());
  }
  dirs.push('/lib64', '/usr/lib64', '/lib', '/usr/lib', `/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`);
  return dirs.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/** What ONNX Runtime's refusal to open a session on `provider` means for the user. */
function unusable(provider: Exclude<Provider, 'cpu'>, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // ONNX Runtime's message starts with its source location; Dawn's own words end it.
  const adapter = /Failed to get a WebGPU adapter[^\n]*/.exec(message);
  if (provider === 'webgpu' && adapter) {
    return `no WebGPU adapter (${adapter[0].trim()}): WebGPU runs on a GPU with a Vulkan driver (libvulkan.so.1 and the GPU vendor's ICD)`;
  }
  return message;
}

/**
 * Runs `open` with the providers `device` names: an explicit one alone (refused at once when
 * it is not installed), or for `auto` each candidate in turn until one opens.
 */
export async function openOnDevice<T>(device: Device, open: (providers: Provider[]) => Promise<T>): Promise<{ value: T; choice: DeviceChoice }> {
  if (device === 'cpu') return { value: await open(['cpu']), choice: { provider: 'cpu', reason: 'asked for (device cpu)' } };
  if (device !== 'auto') {
    if (!installed(device)) throw new Error(`device '${device}' unavailable: ${notInstalled[device]}`);
    try {
      return { value: await open([device]), choice: { provider: device, reason: `asked for (device ${device})` } };
    } catch (error) {
      throw new Error(`device '${device}' unavailable: ${unusable(device, error)}`);
    }
  }
  const passedOver: string[] = [];
  for (const provider of ['cuda', 'webgpu'] as const) {
    if (!installed(provider)) {
      passedOver.push(`${provider}: ${notInstalled[provider]}`);
      continue;
    }
    if (provider === 'webgpu' && !vulkanLoaderFound()) {
      passedOver.push(`webgpu: ${NO_VULKAN}`);
      continue;
    }
    try {
      return { value: await open([provider]), choice: { provider, reason: `auto: ${[...passedOver, `${provider} opened the model`].join('; ')}` } };
    } catch (error) {
      passedOver.push(`${provider}: ${unusable(provider, error)}`);
    }
  }
  return { value: await open(['cpu']), choice: { provider: 'cpu', reason: `auto: no GPU provider could run the model (${passedOver.join('; ')})` } };
}
