// `xllm serve` flags (docs/API.md "Server flags"): kebab-case, with xLLM's snake_case spellings
// (`--max_concurrent_requests`) and vLLM's names where the meaning is the same
// (`--max-num-seqs`, `--enable-prefix-caching`) as aliases; `--flag value` or `--flag=value`;
// `--no-FLAG` turns a boolean off; the model may also come first, as in `vllm serve MODEL`.
import type { Device, Int4KernelChoice, RuntimeChoice } from '../src/index.ts';
import { REASONING_PARSERS, TOOL_CALL_PARSERS } from './tools/parsers.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';

export interface ServerConfig {
  /** Model directory (converted, or a Hugging Face checkpoint); undefined = the built-in default model. */
  model?: string;
  /** The name requests must use; default: the first served name, else the model directory's name. */
  modelId?: string;
  /** Names the model answers to (vLLM's --served-model-name: the first is the id unless --model-id is given). */
  servedModelNames: string[];
  /** Weight type when a Hugging Face checkpoint is converted at start-up. */
  dtype: 'auto' | 'int4' | 'fp16' | 'fp32';
  backend: 'llm' | 'vlm';
  /**
   * What the model is served for: 'rerank' also opens /v1/rerank (a Qwen3-Reranker-style
   * model); 'embed' serves /v1/embeddings only, from a graph converted for embeddings.
   */
  task: 'generate' | 'rerank' | 'embed';
  /** --task embed: how hidden states are pooled (default: the model's, from its sentence-transformers config). */
  pooling?: 'last' | 'mean';
  host: string;
  port: number;
  device: Device;
  /** What runs the text graph on the cpu device (EngineOptions.runtime). */
  runtime: RuntimeChoice;
  /** What multiplies by int4 weights on the native runtime (EngineOptions.int4Kernel). */
  int4Kernel: Int4KernelChoice;
  threads?: number;
  /** 0 = unlimited. */
  maxConcurrentRequests: number;
  maxBatchSize?: number;
  maxModelLen?: number;
  enablePrefixCache: boolean;
  /** Prompt tokens per prefill pass between decode steps (EngineOptions.prefillChunkTokens). */
  maxNumBatchedTokens?: number;
  /** A stream's step at most this many times a decode-only step while a prompt prefills in it (EngineOptions.maxDecodeSlowdown). */
  maxDecodeSlowdown?: number;
  apiKey?: string;
  logLevel: LogLevel;
  /** text: one readable line per event (a terminal's default); json: JSON lines (otherwise). */
  logFormat: LogFormat;
  maxBodyBytes: number;
  /** How long in-flight requests may run on after SIGTERM/SIGINT before they are cancelled. */
  shutdownTimeoutSeconds: number;
  /** Hosts http(s) image URLs may name (vlm); empty: none, so the server fetches nothing. */
  allowedMediaDomains: string[];
  /** Directory file:// image URLs may read below (vlm); undefined: no file:// images. */
  allowedLocalMediaPath?: string;
  /** Images one chat request may carry (vlm). */
  limitImagePerPrompt: number;
  /** How the model writes tool calls (server/tools/parsers.ts); default: the model family's. */
  toolCallParser?: string;
  /** tool_choice "auto" (the model decides) is served. */
  enableAutoToolChoice: boolean;
  /** Splits `<think>` reasoning into reasoning_content (server/tools/parsers.ts); 'auto': the model family's; undefined: off. */
  reasoningParser?: string;
}

export const defaultConfig: ServerConfig = {
  servedModelNames: [],
  backend: 'llm',
  task: 'generate',
  host: '127.0.0.1',
  port: 9977,
  device: 'auto',
  runtime: 'auto',
  int4Kernel: 'auto',
  maxConcurrentRequests: 200,
  // On by default, as in vLLM: it changes no output, only the work done.
  enablePrefixCache: true,
  dtype: 'auto',
  logLevel: 'info',
  logFormat: process.stdout.isTTY ? 'text' : 'json',
  // Eight base64 images of a few MiB each, with room to spare.
  maxBodyBytes: 64 * 1024 * 1024,
  shutdownTimeoutSeconds: 30,
  allowedMediaDomains: [],
  limitImagePerPrompt: 8,
  enableAutoToolChoice: true,
};

type FlagKind = 'string' | 'strings' | 'int' | 'number' | 'bool';

interface FlagSpec {
  key: keyof ServerConfig;
  kind: FlagKind;
  values?: readonly string[];
  min?: number;
  help: string;
  /** Other names of the flag (vLLM's). */
  aliases?: readonly string[];
}

const flags: Record<string, FlagSpec> = {
  model: { key: 'model', kind: 'string', help: 'model directory: converted, or a Hugging Face checkpoint (converted once, then cached); default: the built-in tiny model' },
  'model-id': { key: 'modelId', kind: 'string', help: 'name clients use for the model (default: the first served name, else the directory name)' },
  'served-model-name': { key: 'servedModelNames', kind: 'strings', help: 'names the model answers to; the first is its id unless --model-id is given' },
  dtype: {
    key: 'dtype',
    kind: 'string',
    values: ['auto', 'int4', 'fp16', 'fp32', 'float16', 'half', 'float32', 'float'],
    help: 'weights of a converted Hugging Face checkpoint: auto (int4) | int4 | fp16 | fp32 (vLLM spellings half, float16, float, float32 too)',
  },
  backend: { key: 'backend', kind: 'string', values: ['llm', 'vlm'], help: 'llm | vlm (default llm)' },
  task: {
    key: 'task',
    kind: 'string',
    values: ['generate', 'rerank', 'embed'],
    help: 'generate | rerank: also serve /v1/rerank with a Qwen3-Reranker-style model | embed: serve /v1/embeddings (default generate)',
  },
  pooling: { key: 'pooling', kind: 'string', values: ['last', 'mean'], help: "--task embed: last | mean (default: the model's sentence-transformers pooling, else last)" },
  host: { key: 'host', kind: 'string', help: 'listen address (default 127.0.0.1)' },
  port: { key: 'port', kind: 'int', min: 0, help: 'listen port (default 9977, 0 = any free port)' },
  device: { key: 'device', kind: 'string', values: ['auto', 'cpu', 'cuda', 'webgpu'], help: 'auto | cpu | cuda | webgpu' },
  runtime: {
    key: 'runtime',
    kind: 'string',
    values: ['auto', 'native', 'onnxruntime-node'],
    help: 'auto | native | onnxruntime-node: what runs the text graph on cpu (default auto: native when built)',
  },
  'int4-kernel': {
    key: 'int4Kernel',
    kind: 'string',
    values: ['auto', 'xllm', 'onnxruntime'],
    help: "auto | xllm | onnxruntime: what multiplies by int4 weights on the native runtime (default auto: xllm's AVX-512 VNNI kernel where the CPU has it)",
  },
  threads: { key: 'threads', kind: 'int', min: 1, help: 'ONNX Runtime intra-op threads' },
  'max-concurrent-requests': {
    key: 'maxConcurrentRequests',
    kind: 'int',
    min: 0,
    help: 'requests in flight before 429 (default 200, 0 = unlimited)',
  },
  'max-batch-size': { key: 'maxBatchSize', kind: 'int', min: 1, aliases: ['max-num-seqs'], help: 'sequences decoded together, one KV slot each (default 8)' },
  'max-model-len': { key: 'maxModelLen', kind: 'int', min: 1, help: 'tokens per sequence, prompt + output' },
  'max-num-batched-tokens': { key: 'maxNumBatchedTokens', kind: 'int', min: 1, help: 'prompt tokens per prefill pass between decode steps (default 512)' },
  'max-decode-slowdown': {
    key: 'maxDecodeSlowdown',
    kind: 'number',
    help: "a prompt arriving while streams decode is prefilled inside their steps, sized so a step takes at most X times a decode-only one (default 1.5; native runtime; 0: whole chunks between the steps)",
  },
  'enable-prefix-cache': {
    key: 'enablePrefixCache',
    kind: 'bool',
    aliases: ['enable-prefix-caching'],
    help: 'reuse the KV of shared prompt prefixes (default on; --no-enable-prefix-cache turns it off)',
  },
  'api-key': { key: 'apiKey', kind: 'string', help: 'require "Authorization: Bearer KEY"' },
  'log-level': { key: 'logLevel', kind: 'string', values: ['debug', 'info', 'warn', 'error'], help: 'debug | info | warn | error' },
  'log-format': { key: 'logFormat', kind: 'string', values: ['json', 'text'], help: 'json | text (default: text on a terminal, json otherwise)' },
  'max-body-bytes': { key: 'maxBodyBytes', kind: 'int', min: 1, help: 'largest request body (default 64 MiB)' },
  'shutdown-timeout': {
    key: 'shutdownTimeoutSeconds',
    kind: 'int',
    min: 0,
    aliases: ['drain-timeout'],
    help: 'seconds in-flight requests may finish after SIGTERM (default 30)',
  },
  'allowed-media-domains': { key: 'allowedMediaDomains', kind: 'strings', help: 'hosts http(s) image URLs may come from (default: none)' },
  'allowed-local-media-path': { key: 'allowedLocalMediaPath', kind: 'string', help: 'directory file:// image URLs may read (default: none)' },
  'limit-image-per-prompt': { key: 'limitImagePerPrompt', kind: 'int', min: 0, help: 'images per chat request (default 8)' },
  'tool-call-parser': { key: 'toolCallParser', kind: 'string', values: Object.keys(TOOL_CALL_PARSERS), help: `how the model writes tool calls: ${Object.keys(TOOL_CALL_PARSERS).join(' | ')} (default: the model family's)` },
  'enable-auto-tool-choice': { key: 'enableAutoToolChoice', kind: 'bool', help: 'serve tool_choice "auto" (default on; --no-enable-auto-tool-choice refuses it)' },
  'reasoning-parser': {
    key: 'reasoningParser',
    kind: 'string',
    values: ['auto', ...Object.keys(REASONING_PARSERS)],
    help: `split <think> reasoning into reasoning_content: auto (the model family's) | ${Object.keys(REASONING_PARSERS).join(' | ')} (default off)`,
  },
};

/**
 * vLLM flags with no counterpart here, and why: refused with that reason rather than taken
 * and ignored.
 */
const vllmOnly: Record<string, string> = {
  'tensor-parallel-size': 'a server runs on one device; run replicas behind a load balancer to scale out',
  'pipeline-parallel-size': 'a server runs on one device; run replicas behind a load balancer to scale out',
  'data-parallel-size': 'run replicas behind a load balancer to scale out',
  'gpu-memory-utilization': 'the KV cache grows with the live sequences instead of taking a share of memory up front',
  'trust-remote-code': 'no code from a checkpoint is ever run; the model families are built in',
  quantization: 'the weight type is --dtype (int4, fp16, fp32)',
  'kv-cache-dtype': 'the KV cache is float32',
  'enforce-eager': 'there are no CUDA graphs to turn off',
  'swap-space': 'there is no CPU swap space for the KV cache',
  'tokenizer': "the model directory's own tokenizer is used",
  'chat-template': "the model's own chat template is used",
  'lora-modules': 'LoRA adapters are not supported',
  'enable-lora': 'LoRA adapters are not supported',
  'speculative-config': 'speculative decoding is not supported',
  'disable-log-requests': 'prompts and completions are never logged; request ids and sizes always are',
};

/** Every flag by every name it answers to: its own, and its aliases. */
const byName = new Map<string, [string, FlagSpec]>(
  Object.entries(flags).flatMap(([name, spec]) => [name, ...(spec.aliases ?? [])].map((alias) => [alias, [name, spec]] as const)),
);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type ParsedArgs = { action: 'help' } | { action: 'version' } | { action: 'serve'; config: ServerConfig };

const DTYPE_SPELLINGS: Record<string, ServerConfig['dtype']> = { float16: 'fp16', half: 'fp16', float32: 'fp32', float: 'fp32' };

export function parseServeArgs(argv: readonly string[]): ParsedArgs {
  const config: ServerConfig = { ...defaultConfig, servedModelNames: [], allowedMediaDomains: [] };
  const fields = config as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { action: 'help' };
    if (arg === '--version' || arg === '-v') return { action: 'version' };
    if (!arg.startsWith('--')) {
      // `xllm serve DIR`, as `vllm serve MODEL`: the model may come first.
      if (i === 0 && argv.indexOf('--model') < 0) {
        config.model = arg;
        continue;
      }
      throw new ConfigError(`unexpected argument "${arg}" (flags start with --)`);
    }
    const eq = arg.indexOf('=');
    const rawName = arg.slice(2, eq < 0 ? undefined : eq);
    let name = rawName.replaceAll('_', '-');
    const negated = name.startsWith('no-') && byName.get(name.slice(3))?.[1].kind === 'bool';
    if (negated) name = name.slice(3);
    if (vllmOnly[name]) throw new ConfigError(`--${rawName} is a vLLM flag xllm-ts does not support: ${vllmOnly[name]}`);
    const found = byName.get(name);
    if (!found) throw new ConfigError(`unknown flag --${rawName} (see xllm serve --help)`);
    const spec = found[1];
    name = found[0];
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (spec.kind === 'bool') {
      if (negated && inline !== undefined) throw new ConfigError(`--${rawName} takes no value`);
      fields[spec.key] = negated ? false : inline === undefined ? true : parseBool(name, inline);
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
    fields[spec.key] = spec.kind === 'int' ? parseInteger(name, value, spec.min ?? 0) : spec.kind === 'number' ? parseNumber(name, value) : parseChoice(name, value, spec.values);
  }
  config.dtype = DTYPE_SPELLINGS[config.dtype] ?? config.dtype;
  const slowdown = config.maxDecodeSlowdown;
  if (slowdown !== undefined && !(slowdown === 0 || slowdown > 1)) throw new ConfigError(`--max-decode-slowdown must be 0 or more than 1, got ${slowdown}`);
  return { action: 'serve', config };
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

function parseNumber(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`--${name} must be a number, got "${value}"`);
  return n;
}

function parseChoice(name: string, value: string, values: readonly string[] | undefined): string {
  if (values && !values.includes(value)) throw new ConfigError(`--${name} must be one of ${values.join(', ')}, got "${value}"`);
  return value;
}

export function serveHelp(): string {
  const lines = Object.entries(flags).map(([name, spec]) => {
    const arg = spec.kind === 'bool' ? '' : spec.kind === 'int' ? ' N' : spec.kind === 'number' ? ' X' : spec.kind === 'strings' ? ' NAME...' : ' VALUE';
    const aliases = spec.aliases ? ` (vLLM: --${spec.aliases.join(', --')})` : '';
    return `  --${(name + arg).padEnd(32)} ${spec.help}${aliases}`;
  });
  return [
    'usage: xllm serve [DIR | --model DIR] [options]',
    '',
    'Serves the REST API of xLLM (chat/completions, /v1/sample, ...).',
    'snake_case spellings (--max_concurrent_requests) are accepted too; --no-FLAG turns a switch off.',
    '',
    ...lines,
    '  --version, -v                      the version of xllm-ts',
    '  --help, -h                         this text',
  ].join('\n');
}
