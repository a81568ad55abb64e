// The published package: `npm pack`'s tarball holds compiled JavaScript with .d.ts types (no
// TypeScript source to run), installs into an empty project, and there plain `node` — no tsx —
// and Bun import the engine and generate the same greedy tokens as the engine in this
// repository, and the `xllm` binary answers --version.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { samplingParams } from '../../src/index.ts';
import { collect, loadTiny, tinyDir } from '../engine/helpers.ts';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'xllm-pack-'));
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

test.after(() => rmSync(work, { recursive: true, force: true }));

const SCRIPT = `
import { Engine, Tokenizer, samplingParams, VERSION } from 'xllm-ts';
import { Tokenizer as TokenizerOnly } from 'xllm-ts/tokenizer';
const engine = await Engine.load(process.argv[2], { threads: 1 });
const promptTokens = engine.tokenizer.encode('hello from plain node');
const tokens = [];
const request = { requestId: 'r', promptTokens, sampling: samplingParams({ temperature: 0 }), maxTokens: 6, ignoreEos: true };
for await (const event of engine.generate(request)) if (event.type === 'delta') tokens.push(...event.tokens.map((t) => t.tokenId));
await engine.close();
console.log(JSON.stringify({ version: VERSION, tokens, promptTokens, tokenizer: engine.tokenizer instanceof Tokenizer && Tokenizer === TokenizerOnly }));
`;

test('npm pack → install into an empty project → plain node generates; xllm --version runs', async () => {
  const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [{ filename, files }] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const paths = files.map((f) => f.path);
  assert.ok(paths.includes('dist/src/index.js') && paths.includes('dist/src/index.d.ts'), 'compiled entry and its types');
  assert.ok(paths.includes('wasm/build/tokenizer.wasm') && paths.includes('wasm/build/sampler.wasm'));
  assert.equal(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), [], 'no TypeScript source to run');

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  // Bun's npm package fetches its binary in an install script, which npm runs only when allowed.
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', allowScripts: { bun: true } }));
  // No network is needed beyond the registry; onnxruntime-node's optional GPU download is skipped.
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, filename), 'bun'], {
    cwd: app,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  assert.not.ok(readdirSync(join(app, 'node_modules')).includes('tsx'), 'tsx is not installed with the package');
  writeFileSync(join(app, 'run.mjs'), SCRIPT);
  type Output = { version: string; tokens: number[]; promptTokens: number[]; tokenizer: boolean };
  const out = JSON.parse(execFileSync('node', ['run.mjs', tinyDir()], { cwd: app, encoding: 'utf8' })) as Output;
  const bun = JSON.parse(execFileSync(join(app, 'node_modules', '.bin', 'bun'), ['run.mjs', tinyDir()], { cwd: app, encoding: 'utf8' })) as Output;
  assert.equal(bun, out, 'Bun gives what Node gives');
  assert.is(out.version, version);
  assert.ok(out.tokenizer, 'xllm-ts/tokenizer is the same Tokenizer');

  const engine = await loadTiny();
  const here = await collect(engine.generate({ requestId: 'r', promptTokens: out.promptTokens, sampling: samplingParams({ temperature: 0 }), maxTokens: 6, ignoreEos: true }));
  await engine.close();
  assert.equal(out.tokens, here.tokens[0], 'the packaged engine gives the repository engine’s tokens');

  const cli = execFileSync('node', [join(app, 'node_modules', '.bin', 'xllm'), '--version'], { cwd: app, encoding: 'utf8' });
  assert.is(cli.trim(), `xllm-ts ${version}`);
});

test.run();
