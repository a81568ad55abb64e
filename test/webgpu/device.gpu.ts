// With a Vulkan loader on the library path (SwiftShader's, see software-vulkan.ts), `auto`
// probes webgpu and takes it: an adapter answers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vulkanLoaderFound } from '../../src/engine/device.ts';
import { loadTiny } from '../engine/helpers.ts';

test('auto finds the Vulkan loader and opens the model on webgpu', async () => {
  assert.ok(vulkanLoaderFound(), `libvulkan.so.1 in LD_LIBRARY_PATH (${process.env.LD_LIBRARY_PATH})`);
  const engine = await loadTiny({ device: 'auto' });
  try {
    assert.is(engine.device, 'webgpu');
    assert.match(engine.deviceReason, /^auto: cuda: .*; webgpu opened the model$/);
  } finally {
    await engine.close();
  }
});

test.run();
