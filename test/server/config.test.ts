import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseServeArgs, serveHelp } from '../../server/config.ts';

const parse = (...argv: string[]) => {
  const parsed = parseServeArgs(argv);
  if (parsed.action !== 'serve') throw new Error(`unexpected ${parsed.action}`);
  return parsed.config;
};

test('no flags gives the defaults of API.md', () => {
  const config = parse();
  assert.is(config.host, '127.0.0.1');
  assert.is(config.port, 9977);
  assert.is(config.maxConcurrentRequests, 200);
  assert.is(config.backend, 'llm');
  assert.is(config.model, undefined);
  assert.equal([config.device, config.runtime, config.servedModelNames, config.enablePrefixCache, config.dtype], ['auto', 'auto', [], true, 'auto']);
});

test("vLLM's flag names, --no-FLAG, the model first, and --version", () => {
  const config = parse(
    'models/Qwen2-7B-Instruct', '--max-num-seqs', '16', '--no-enable-prefix-caching', '--served-model-name', 'Qwen2-7B-Instruct',
    '--max-model-len', '2048', '--api-key', 'k', '--host', '0.0.0.0', '--port', '8000', '--dtype', 'half', '--max-num-batched-tokens', '256',
  );
  assert.is(config.model, 'models/Qwen2-7B-Instruct');
  assert.is(config.maxBatchSize, 16);
  assert.is(config.enablePrefixCache, false);
  assert.equal(config.servedModelNames, ['Qwen2-7B-Instruct']);
  assert.equal([config.maxModelLen, config.apiKey, config.host, config.port], [2048, 'k', '0.0.0.0', 8000]);
  assert.is(config.dtype, 'fp16');
  assert.is(config.maxNumBatchedTokens, 256);
  assert.is(parse('--enable-prefix-caching').enablePrefixCache, true);
  assert.is(parse('--no-enable-prefix-cache').enablePrefixCache, false);
  assert.is(parse('--drain-timeout', '7').shutdownTimeoutSeconds, 7);
  assert.is(parse('--max-decode-slowdown', '2.5').maxDecodeSlowdown, 2.5);
  assert.is(parse('--max-decode-slowdown=0').maxDecodeSlowdown, 0);
  for (const bad of ['1', '0.5', 'fast', '']) {
    assert.throws(() => parse(`--max-decode-slowdown=${bad}`), /--max-decode-slowdown must be (0 or more than 1|a number)/);
  }
  assert.equal(parseServeArgs(['--version']), { action: 'version' });
});

test('a vLLM flag with no counterpart is refused with the reason, not ignored', () => {
  const cases: Array<[string, RegExp]> = [
    ['--tensor-parallel-size=2', /--tensor-parallel-size is a vLLM flag xllm-ts does not support: a server runs on one device/],
    ['--gpu-memory-utilization', /vLLM flag .* the KV cache grows/],
    ['--trust-remote-code', /no code from a checkpoint is ever run/],
    ['--quantization', /the weight type is --dtype/],
  ];
  for (const [flag, message] of cases) {
    assert.throws(() => parseServeArgs([flag, '0.9']), (error: unknown) => error instanceof ConfigError && message.test(error.message), flag);
  }
});

test('kebab-case, snake_case aliases and --flag=value all parse', () => {
  const config = parse(
    '--model', 'models/x', '--model_id=qwen', '--max_concurrent_requests', '3', '--max-batch-size=4',
    '--enable_prefix_cache', '--api-key', 'k', '--served-model-name', 'a', 'b', '--port', '0', '--log_level', 'warn',
    '--runtime', 'onnxruntime-node', '--int4_kernel', 'onnxruntime',
  );
  assert.is(config.model, 'models/x');
  assert.is(config.modelId, 'qwen');
  assert.is(config.maxConcurrentRequests, 3);
  assert.is(config.maxBatchSize, 4);
  assert.is(config.enablePrefixCache, true);
  assert.is(config.apiKey, 'k');
  assert.equal(config.servedModelNames, ['a', 'b']);
  assert.is(config.port, 0);
  assert.is(config.logLevel, 'warn');
  assert.is(config.runtime, 'onnxruntime-node');
  assert.is(config.int4Kernel, 'onnxruntime');
  assert.is(parse().int4Kernel, 'auto');
});

test('--help wins and lists every flag', () => {
  assert.equal(parseServeArgs(['--port', '1', '--help']), { action: 'help' });
  for (const flag of ['--model', '--runtime', '--int4-kernel', '--max-concurrent-requests', '--api-key', '--max-body-bytes', '--shutdown-timeout', '--drain-timeout', '--max-num-seqs', '--enable-prefix-caching', '--dtype', '--version', '--log-format']) {
    assert.ok(serveHelp().includes(flag), flag);
  }
});

test('bad flags name the problem', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--nope'], /unknown flag --nope/],
    [['--port', 'x'], /--port must be an integer/],
    [['--port', '-1'], /--port must be an integer/],
    [['--backend', 'dit'], /--backend must be one of llm, vlm/],
    [['--runtime', 'wasm'], /--runtime must be one of auto, native, onnxruntime-node/],
    [['--int4-kernel', 'mlas'], /--int4-kernel must be one of auto, xllm, onnxruntime/],
    [['--model'], /--model needs a value/],
    [['--threads', '0'], /--threads must be an integer ≥ 1/],
    [['--port', '1', 'stray'], /unexpected argument "stray"/],
    [['--no-port'], /unknown flag --no-port/],
    [['--no-enable-prefix-caching=true'], /takes no value/],
    [['--enable-prefix-cache=maybe'], /must be true or false/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseServeArgs(argv), (error: unknown) => error instanceof ConfigError && message.test(error.message), argv.join(' '));
  }
});

test.run();
