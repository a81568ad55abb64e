// llama.cpp through the measuring instruments in ../shared/anchors (run from there, never
// copied here): a GGUF written from our Hugging Face checkpoint, benchmarked by
// node-llama-cpp in its own process. Its prefill/decode definitions match workload.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MODELS_OUT } from '../../models/recipe.ts';
import { DECODE_TOKENS, LONG_PROMPT_TOKENS, THREADS } from './workload.ts';

export type GgufType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

export interface LlamaCppFigures {
  prefillTokS: number;
  decodeTokS: number;
  /** True when no run was free of other processes' CPU use. */
  contended: boolean;
}

/** Where the anchors live: XLLM_ANCHORS, else ../shared/anchors beside the repository. */
export function anchorsDir(): string | null {
  const dir = process.env.XLLM_ANCHORS ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'anchors');
  return existsSync(join(dir, 'llamacpp-bench.mjs')) && existsSync(join(dir, 'node_modules', 'node-llama-cpp')) ? dir : null;
}

/** Our checkpoint as a GGUF of `type`, written by the anchors' converter the first time. */
export function ensureGguf(anchors: string, checkpointDir: string, name: string, type: GgufType): string {
  const out = join(MODELS_OUT, 'gguf', `${name}-${type}.gguf`);
  if (existsSync(out)) return out;
  mkdirSync(join(MODELS_OUT, 'gguf'), { recursive: true });
  const partial = `${out}.partial`;
  execFileSync(process.execPath, [join(anchors, 'gguf.mjs'), '--in', checkpointDir, '--out', partial, '--type', type], { stdio: ['ignore', 'ignore', 'inherit'] });
  renameSync(partial, out);
  return out;
}

export function measureLlamaCpp(anchors: string, checkpointDir: string, name: string, type: GgufType, reps: number, promptLength = LONG_PROMPT_TOKENS): LlamaCppFigures {
  const gguf = ensureGguf(anchors, checkpointDir, name, type);
  const args = ['--model', gguf, '--prompt-tokens', String(promptLength), '--gen', String(DECODE_TOKENS), '--threads', String(THREADS), '--reps', String(reps), '--wait-quiet', '120'];
  const stdout = execFileSync(process.execPath, [join(anchors, 'llamacpp-bench.mjs'), ...args], { cwd: anchors, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { prefill_tok_s: number; decode_tok_s: number; contended: boolean };
  return { prefillTokS: result.prefill_tok_s, decodeTokS: result.decode_tok_s, contended: result.contended };
}
