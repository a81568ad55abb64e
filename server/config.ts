// `xllm serve` flags (API.md "Server flags"): kebab-case, with xLLM's snake_case spellings
// (`--max_concurrent_requests`) as aliases, and `--flag value` or `--flag=value`.
import type { Device, RuntimeChoice } from '../src/index.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ServerConfig {
  /** Model directory; undefined = the built-in default model. */
  model?: string;
  /** The name requests must use; default: the model directory's name. */
  modelId?: string;
  /** Extra names the model answers to. */
  servedModelNames: string[];
  backend: 'llm' | 'vlm';
  host: string;
  port: number;
  device: Device;
  /** What runs the text graph on the cpu device (EngineOptions.runtime). */
  runtime: RuntimeChoice;
  threads?: number;
  /** 0 = unlimited. */
  maxConcurrentRequests: number;
  maxBatchSize?: number;
  maxModelLen?: number;
  enablePrefixCache: boolean;
  apiKey?: string;
  logLevel: LogLevel;
  maxBodyBytes: number;
  /** How long in-flight requests may run on after SIGTERM/SIGINT before they are cancelled. */
  shutdownTimeoutSeconds: number;
  /** Hosts http(s) image URLs may name (vlm); empty: none, so the server fetches nothing. */
  allowedMediaDomains: string[];
  /** Directory file:// image URLs may read below (vlm); undefined: no file:// images. */
  allowedLocalMediaPath?: string;
  /** Images one chat request may carry (vlm). */
  limitImagePerPrompt: number;
}

export const defaultConfig: ServerConfig = {
  servedModelNames: [],
  backend: 'llm',
  host: '127.0.0.1',
  port: 9977,
  device: 'auto',
  runtime: 'auto',
  maxConcurrentRequests: 200,
  enablePrefixCache: false,
  logLevel: 'info',
  // Eight base64 images of a few MiB each, with room to spare.
  maxBodyBytes: 64 * 1024 * 1024,
  shutdownTimeoutSeconds: 30,
  allowedMediaDomains: [],
  limitImagePerPrompt: 8,
};

type FlagKind = 'string' | 'strings' | 'int' | 'bool';

interface FlagSpec {
  key: keyof ServerConfig;
  kind: FlagKind;
  values?: readonly string[];
  min?: number;
  help: string;
}

const flags: Record<string, FlagSpec> = {
  model: { key: 'model', kind: 'string', help: 'model directory (default: the built-in tiny model)' },
  'model-id': { key: 'modelId', kind: 'string', help: 'name clients use for the model (default: directory name)' },
  'served-model-name': { key: 'servedModelNames', kind: 'strings', help: 'extra names the model answers to' },
  backend: { key: 'backend', kind: 'string', values: ['llm', 'vlm'], help: 'llm | vlm (default llm)' },
  host: { key: 'host', kind: 'string', help: 'listen address (default 127.0.0.1)' },
  port: { key: 'port', kind: 'int', min: 0, help: 'listen port (default 9977, 0 = any free port)' },
  device: { key: 'device', kind: 'string', values: ['auto', 'cpu', 'cuda', 'webgpu'], help: 'auto | cpu | cuda | webgpu' },
  runtime: {
    key: 'runtime',
    kind: 'string',
    values: ['auto', 'native', 'onnxruntime-node'],
    help: 'auto | native | onnxruntime-node: what runs the text graph on cpu (default auto: native when built)',
  },
  threads: { key: 'threads', kind: 'int', min: 1, help: 'ONNX Runtime intra-op threads' },
  'max-concurrent-requests': {
    key: 'maxConcurrentRequests',
    kind: 'int',
    min: 0,
    help: 'requests in flight before 429 (default 200, 0 = unlimited)',
  },
  'max-batch-size': { key: 'maxBatchSize', kind: 'int', min: 1, help: 'KV slots decoded together' },
  'max-model-len': { key: 'maxModelLen', kind: 'int', min: 1, help: 'tokens per sequence, prompt + output' },
  'enable-prefix-cache': { key: 'enablePrefixCache', kind: 'bool', help: 'reuse KV of shared prompt prefixes' },
  'api-key': { key: 'apiKey', kind: 'string', help: 'require "Authorization: Bearer KEY"' },
  'log-level': { key: 'logLevel', kind: 'string', values: ['debug', 'info', 'warn', 'error'], help: 'debug | info | warn | error' },
  'max-body-bytes': { key: 'maxBodyBytes', kind: 'int', min: 1, help: 'largest request body (default 64 MiB)' },
  'shutdown-timeout': {
    key: 'shutdownTimeoutSeconds',
    kind: 'int',
    min: 0,
    help: 'seconds in-flight requests may finish after SIGTERM (default 30)',
  },
  'allowed-media-domains': { key: 'allowedMediaDomains', kind: 'strings', help: 'hosts http(s) image URLs may come from (default: none)' },
  'allowed-local-media-path': { key: 'allowedLocalMediaPath', kind: 'string', help: 'directory file:// image URLs may read (default: none)' },
  'limit-image-per-prompt': { key: 'limitImagePerPrompt', kind: 'int', min: 0, help: 'images per chat request (default 8)' },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type ParsedArgs = { help: true } | { help: false; config: ServerConfig };

export function parseServeArgs(argv: readonly string[]): ParsedArgs {
  const config: ServerConfig = { ...defaultConfig, servedModelNames: [], allowedMediaDomains: [] };
  const fields = config as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (flags start with --)`);
    const eq = arg.indexOf('=');
    const rawName = arg.slice(2, eq < 0 ? undefined : eq);
    const name = rawName.replaceAll('_', '-');
    const spec = flags[name];
    if (!spec) throw new ConfigError(`unknown flag --${rawName} (see xllm serve --help)`);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (spec.kind === 'bool') {
      fields[spec.key] = inline === undefined ? true : parseBool(name, inline);
      continue;
    }
    if (spec.kind === 'strings') {
      const values = inline !== undefined ? [inline] : [];
      while (inline === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) values.push(argv[++i]!);
      if (values.length === 0) throw new ConfigError(`--${name} needs at least one value`);
      (fields[spec.key] as string[]).push(...values);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new ConfigError(`--${name} needs a value`);
    }
    fields[spec.key] = spec.kind === 'int' ? parseInteger(name, value, spec.min ?? 0) : parseChoice(name, value, spec.values);
  }
  return { help: false, config };
}

function parseBool(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`--${name} must be true or false, got "${value}"`);
}

function parseInteger(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new ConfigError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

function parseChoice(name: string, value: string, values: readonly string[] | undefined): string {
  if (values && !values.includes(value)) throw new ConfigError(`--${name} must be one of ${values.join(', ')}, got "${value}"`);
  return value;
}

export function serveHelp(): string {
  const lines = Object.entries(flags).map(([name, spec]) => {
    const arg = spec.kind === 'bool' ? '' : spec.kind === 'int' ? ' N' : spec.kind === 'strings' ? ' NAME...' : ' VALUE';
    return `  --${(name + arg).padEnd(32)} ${spec.help}`;
  });
  return [
    'usage: xllm serve [--model DIR] [options]',
    '',
    'Serves the REST API of xLLM (chat/completions, /v1/sample, ...).',
    'snake_case spellings (--max_concurrent_requests) are accepted too.',
    '',
    ...lines,
    '  --help, -h                         this text',
  ].join('\n');
}
