// Picks ONNX Runtime's execution provider for `--device`, with a clear error when the
// requested one is not installed.
import * as ort from 'onnxruntime-node';
import type { Device } from './types.ts';

type Provider = 'cpu' | 'cuda' | 'webgpu';

function installed(name: Provider): boolean {
  return ort.listSupportedBackends().some((b) => b.name === name && (b.bundled || name === 'cpu'));
}

const missing: Record<Exclude<Provider, 'cpu'>, string> = {
  cuda:
    'the CUDA execution provider is not installed: onnxruntime-node ships it as a separate download; ' +
    'on a machine with CUDA 12 and cuDNN 9 run `npm rebuild onnxruntime-node --onnxruntime-node-install` (needs network)',
  webgpu: 'the WebGPU execution provider is not available in this onnxruntime-node build',
};

/** The providers to try, best first; `auto` keeps only those present (CPU last). */
export function resolveProviders(device: Device): Provider[] {
  if (device === 'cpu') return ['cpu'];
  if (device === 'auto') return [...(['cuda'] as const).filter(installed), 'cpu'];
  if (!installed(device)) throw new Error(`device '${device}' unavailable: ${missing[device]}`);
  return [device];
}
