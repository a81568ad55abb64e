import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseServeArgs, serveHelp } from '../../server/config.ts';

const parse = (...argv: string[]) => {
  const parsed = parseServeArgs(argv);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
};

test('no flags gives the defaults of API.md', () => {
  const config = parse();
  assert.is(config.host, '127.0.0.1');
  assert.is(config.port, 9977);
  assert.is(config.maxConcurrentRequests, 200);
  assert.is(config.backend, 'llm');
  assert.is(config.model, undefined);
  assert.equal([config.device, config.runtime, config.servedModelNames, config.enablePrefixCache], ['auto', 'auto', [], false]);
});

test('kebab-case, snake_case aliases and --flag=value all parse', () => {
  const config = parse(
    '--model', 'models/x', '--model_id=qwen', '--max_concurrent_requests', '3', '--max-batch-size=4',
    '--enable_prefix_cache', '--api-key', 'k', '--served-model-name', 'a', 'b', '--port', '0', '--log_level', 'warn',
    '--runtime', 'onnxruntime-node',
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
});

test('--help wins and lists every flag', () => {
  assert.equal(parseServeArgs(['--port', '1', '--help']), { help: true });
  for (const flag of ['--model', '--runtime', '--max-concurrent-requests', '--api-key', '--max-body-bytes', '--shutdown-timeout']) {
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
    [['--model'], /--model needs a value/],
    [['--threads', '0'], /--threads must be an integer ≥ 1/],
    [['stray'], /unexpected argument "stray"/],
    [['--enable-prefix-cache=maybe'], /must be true or false/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseServeArgs(argv), (error: unknown) => error instanceof ConfigError && message.test(error.message), argv.join(' '));
  }
});

test.run();
