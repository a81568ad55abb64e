// Where generated and converted models go: $XLLM_CACHE_DIR, else xllm-ts under the user's
// cache directory ($XDG_CACHE_HOME or ~/.cache). Never inside the package, which may be
// installed read-only.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  return process.env.XLLM_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xllm-ts');
}
