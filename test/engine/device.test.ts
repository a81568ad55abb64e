// Choosing the execution provider: `auto` tries cuda, then webgpu, then the cpu, and says why it
// passed over each; an explicit device that cannot run is an error that says what is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installed, openOnDevice, vulkanLoaderFound, type Provider } from '../../src/engine/device.ts';
import { loadTiny } from './helpers.ts';

/** Whether `auto` tries the provider: installed, and for webgpu a Vulkan loader to open (on Linux). */
const probed = (name: Provider) => installed(name) && (name !== 'webgpu' || vulkanLoaderFound());

test('auto tries each GPU provider in order and falls back to the cpu, naming why it passed each over', async () => {
  const tried: Provider[][] = [];
  const { value, choice } = await openOnDevice('auto', async (providers) => {
    tried.push(providers);
    if (providers[0] !== 'cpu') throw new Error(`${providers[0]} refused`);
    return 'opened';
  });
  assert.is(value, 'opened');
  assert.is(choice.provider, 'cpu');
  // Only installed providers are tried; every GPU provider is named in the reason either way.
  const expectTried = [...(['cuda', 'webgpu'] as const).filter(probed).map((p) => [p]), ['cpu']];
  assert.equal(tried, expectTried);
  assert.match(choice.reason, /^auto: no GPU provider could run the model \(cuda: .*; webgpu: .*\)$/);
  for (const provider of (['cuda', 'webgpu'] as const).filter(probed)) assert.match(choice.reason, new RegExp(`${provider}: ${provider} refused`));
  if (installed('webgpu') && !vulkanLoaderFound()) assert.match(choice.reason, /webgpu: no Vulkan loader \(libvulkan\.so\.1\) found/);
});

test('auto takes the first GPU provider that opens the model', async () => {
  const gpu = (['cuda', 'webgpu'] as const).find(probed);
  if (!gpu) return; // this onnxruntime-node build bundles no GPU provider to take
  const { choice } = await openOnDevice('auto', async (providers) => providers[0]);
  assert.is(choice.provider, gpu);
  assert.match(choice.reason, new RegExp(`${gpu} opened the model`));
});

test('an explicit device runs there or fails naming what is missing; cpu is taken as asked', async () => {
  assert.equal((await openOnDevice('cpu', async (providers) => providers)).choice, { provider: 'cpu', reason: 'asked for (device cpu)' });
  if (!installed('cuda')) {
    await openOnDevice('cuda', async () => 'never').then(
      () => assert.unreachable('cuda is not installed here'),
      (error: Error) => assert.match(error.message, /device 'cuda' unavailable: the CUDA execution provider is not installed/),
    );
  }
  if (installed('webgpu')) {
    const failure = new Error('Failed to get a WebGPU adapter.');
    await openOnDevice('webgpu', async () => Promise.reject(failure)).then(
      () => assert.unreachable('the session failed'),
      (error: Error) => assert.match(error.message, /device 'webgpu' unavailable: no WebGPU adapter \(Failed to get a WebGPU adapter\.\): WebGPU runs on a GPU with a Vulkan driver/),
    );
  }
});

test('cuda counts as installed once its provider library sits beside ONNX Runtime\'s (where the install script puts it)', () => {
  if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) return; // this build has no CUDA provider to install
  const folder = mkdtempSync(join(tmpdir(), 'xllm-ort-'));
  try {
    assert.not.ok(installed('cuda', () => folder));
    writeFileSync(join(folder, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'), '');
    assert.ok(installed('cuda', () => folder));
    assert.ok(installed('cpu', () => folder));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the engine on auto: here, with no GPU, it runs on the cpu and says why', async () => {
  const engine = await loadTiny({ device: 'auto' });
  try {
    assert.ok(['cpu', 'cuda', 'webgpu'].includes(engine.device));
    assert.match(engine.deviceReason, /^auto: /);
    if (engine.device === 'cpu') assert.match(engine.deviceReason, /cuda: .*; webgpu: /);
  } finally {
    await engine.close();
  }
});

test.run();
