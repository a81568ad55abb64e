// Builds the Node-API addon native/build/ort_session.node with the system's C compiler and
// Node's own headers. It is optional: when either is missing, or the compile fails, this says
// why and exits 0, and the engine runs the graph through onnxruntime-node instead.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'build', 'ort_session.node');

function skip(reason) {
  console.warn(`native/build.mjs: addon not built (${reason}); the engine will use onnxruntime-node`);
  process.exit(0);
}

if (process.platform !== 'linux' && process.platform !== 'darwin') skip(`no build recipe for ${process.platform}`);
// Node's headers: next to the binary (official builds, Debian's /usr/include/node), or npm's nodedir.
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')]
  .filter(Boolean)
  .find((dir) => existsSync(join(dir, 'node_api.h')));
if (!headers) skip("Node's headers (node_api.h) not found");

const compiler = process.env.CC || 'cc';
const sources = ['ort_session.c', 'ort_api.c', 'custom_op.c', 'attention_op.c', 'attention.c', 'matmul_nbits_op.c', 'int4_matmul.c'];
const flags = ['-O2', '-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden'];
const link = process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : ['-ldl', '-lpthread', '-lm'];
mkdirSync(dirname(output), { recursive: true });
try {
  execFileSync(compiler, [...flags, '-DNODE_GYP_MODULE_NAME=ort_session', '-DNAPI_VERSION=8', '-I', headers, ...sources.map((file) => join(here, file)), '-o', output, ...link], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
} catch (error) {
  skip(`${compiler} failed: ${error.message.split('\n')[0]}`);
}
console.log(`native/build.mjs: built ${output}`);
