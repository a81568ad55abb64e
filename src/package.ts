// Where this package's files are, found from this module's own location so that it holds both
// in the repository (src/…, run by tsx or Bun) and in the published package (dist/src/…).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'xllm-ts') return dir;
    if (dirname(dir) === dir) throw new Error(`xllm-ts: no package.json of xllm-ts above ${from}`);
  }
}

/** The package's root directory: wasm/build, native/build and package.json live there. */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The package's version (package.json). */
export const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
