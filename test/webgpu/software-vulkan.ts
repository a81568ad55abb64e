// SwiftShader, Google's Vulkan on the CPU, as @sparticuz/chromium (a dev dependency) ships it:
// a Vulkan device that satisfies Dawn, so ONNX Runtime's WebGPU execution provider runs on a
// machine without a GPU (Debian's lavapipe lacks a feature Dawn requires). Slow, but the same
// kernels, buffers and IO binding as on a GPU.
//
// The Vulkan loader is found through LD_LIBRARY_PATH, which the dynamic linker reads once at
// start, so the WebGPU tests run in a child process given softwareVulkanEnv().
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { cacheDir } from '../../models/cache-dir.ts';

const require = createRequire(import.meta.url);

/** The environment in which Dawn finds SwiftShader (unpacked once into the cache directory). */
export function softwareVulkanEnv(): Record<string, string> {
  // Its exports name no file but its entry point: walk up from there to its own package.json.
  let packageDir = dirname(require.resolve('@sparticuz/chromium'));
  const manifest = () => join(packageDir, 'package.json');
  while (!existsSync(manifest()) || JSON.parse(readFileSync(manifest(), 'utf8')).name !== '@sparticuz/chromium') packageDir = dirname(packageDir);
  const { version } = JSON.parse(readFileSync(manifest(), 'utf8')) as { version: string };
  const dir = join(cacheDir(), `swiftshader-${version}`);
  const icd = join(dir, 'vk_swiftshader_icd.json');
  if (!existsSync(icd)) {
    const staging = `${dir}.${process.pid}`;
    mkdirSync(staging, { recursive: true });
    try {
      const tar = brotliDecompressSync(readFileSync(join(packageDir, 'bin', 'swiftshader.tar.br')));
      execFileSync('tar', ['-x', '-C', staging], { input: tar });
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const libraryPath = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { LD_LIBRARY_PATH: libraryPath, VK_ICD_FILENAMES: icd };
}
