// The WebGPU execution provider's tests (test/webgpu/*.gpu.ts) in a child process on SwiftShader
// (test/webgpu/software-vulkan.ts): the engine on device webgpu, the KV cache on the device.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { softwareVulkanEnv } from './webgpu/software-vulkan.ts';

test('the WebGPU tests pass on a software Vulkan device', () => {
  // uvu's exports do not name its command; it sits in the package root.
  const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
  const child = spawnSync(process.execPath, [uvu, '-r', 'tsx', 'test/webgpu', '\\.gpu\\.ts$'], {
    env: { ...process.env, ...softwareVulkanEnv() },
    encoding: 'utf8',
    timeout: 20 * 60_000,
  });
  const output = `${child.stdout}${child.stderr}`;
  assert.ok(child.status === 0 && /Passed:\s+[1-9]/.test(output), `WebGPU tests failed (exit ${child.status}):\n${output}`);
});

test.run();
