// The machine's memory read bandwidth, measured beside the decode figures so that a decode
// rate can be read as a fraction of the ceiling it works against (bytes read per token × tokens
// per second ÷ bandwidth). bandwidth.c, built with the system's C compiler into a temporary
// directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** GB/s read by `threads` threads, best of 5 passes over 1 GiB. */
export function measureBandwidth(threads: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'xllm-bandwidth-'));
  try {
    const binary = join(dir, 'bandwidth');
    execFileSync(process.env.CC || 'cc', ['-O2', '-march=native', '-pthread', join(import.meta.dirname, 'bandwidth.c'), '-o', binary]);
    return Number(execFileSync(binary, [String(threads)], { encoding: 'utf8' }).split(' ')[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes an int4 decode step reads: every MatMulNBits weight of the layers and the lm_head
 * (4-bit values, a float32 scale and a 4-bit zero point per 32), not the embedding table
 * (one row a token). From the checkpoint's config.json; the norms and biases are noise.
 */
export function int4BytesPerToken(config: { hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number; num_key_value_heads: number; vocab_size: number; head_dim?: number }): number {
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const linear = (n: number, k: number) => {
    const blocks = Math.ceil(k / 32);
    return n * blocks * 16 + n * blocks * 4 + n * Math.ceil(blocks / 2);
  };
  const h = config.hidden_size;
  const q = config.num_attention_heads * headDim;
  const kv = config.num_key_value_heads * headDim;
  const layer = linear(q + 2 * kv, h) + linear(h, q) + linear(2 * config.intermediate_size, h) + linear(h, config.intermediate_size);
  return config.num_hidden_layers * layer + linear(config.vocab_size, h);
}
