// Real-size memory check (issue: model families): a random checkpoint in the shape of
// Llama-3.1-8B, written as the Hub ships it (4 BF16 safetensors shards, ~16 GB), converted
// to int4 by `xllm convert` under /usr/bin/time -v, then served int4 by `xllm serve`.
// Figures: conversion wall time and peak RSS (the converter streams tensor by tensor: the
// target is well under 4 GB), the server's load time, peak RSS (target: under 8 GB), TTFT of
// a short prompt and batch-1 decode tok/s. Both directories are deleted afterwards unless
// --keep is given (a kept checkpoint is reused by the next run). Needs ~22 GB of free disk.
//   npx tsx bench/big-model.ts [--keep]
import { existsSync, readFileSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { MODELS_OUT } from '../models/recipe.ts';
import { writeRandomCheckpoint, type DecoderShape } from '../models/random-checkpoint.ts';
import { startServeProcess } from '../test/server/serve-process.ts';
import { streamCompletion } from './shared/completion-stream.ts';
import { runTimed } from './shared/timed-process.ts';

const LLAMA_3_1_8B: DecoderShape = {
  family: 'llama',
  hiddenSize: 4096,
  intermediateSize: 14336,
  numLayers: 32,
  numAttentionHeads: 32,
  numKeyValueHeads: 8,
  headDim: 128,
  vocabSize: 128256,
  ropeTheta: 500000,
  ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  maxPositionEmbeddings: 131072,
  tieWordEmbeddings: false,
  rmsNormEps: 1e-5,
};
const CONVERSION_LIMIT_BYTES = 4 * 1024 ** 3;
const SERVING_LIMIT_BYTES = 8 * 1024 ** 3;
const DECODE_TOKENS = 32;

const keep = process.argv.includes('--keep');
const GiB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(2)} GiB`;
const checkpoint = join(MODELS_OUT, 'hf', 'llama-3.1-8b-shape');
const converted = join(MODELS_OUT, 'llama-3.1-8b-shape-int4');

// ~16 GB of checkpoint (unless kept from an earlier run) and ~6 GB of int4 model.
const needed = (existsSync(checkpoint) ? 6 : 22) * GiB;
const { bavail, bsize } = statfsSync(MODELS_OUT);
if (bavail * bsize < needed) throw new Error(`big-model needs ${gib(needed)} free under ${MODELS_OUT}, ${gib(bavail * bsize)} is`);
console.log(`big-model: Llama-3.1-8B shape, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`);

/** Peak and current resident memory of a live process, from /proc. */
function residentMemory(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1]) * 1024;
  return { peak: kib('VmHWM'), now: kib('VmRSS') };
}

try {
  rmSync(converted, { recursive: true, force: true });
  let started = Date.now();
  if (existsSync(checkpoint)) console.log(`random BF16 checkpoint kept from an earlier --keep run: ${checkpoint}`);
  else {
    const partial = `${checkpoint}.partial`;
    rmSync(partial, { recursive: true, force: true });
    writeRandomCheckpoint(partial, LLAMA_3_1_8B, 8, 'BF16', 4);
    renameSync(partial, checkpoint);
    console.log(`random BF16 checkpoint written in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  const cli = join(import.meta.dirname, '..', 'server', 'cli.ts');
  const conversion = runTimed(process.execPath, ['--import', 'tsx', cli, 'convert', '--from', checkpoint, '--to', converted, '--dtype', 'int4']);
  console.log(`int4 conversion: ${conversion.seconds.toFixed(0)} s wall, peak RSS ${gib(conversion.peakRssBytes)}`);

  started = Date.now();
  const server = await startServeProcess(['--model', converted, '--max-model-len', '4096', '--max-num-seqs', '1']);
  const loadSeconds = (Date.now() - started) / 1000;
  try {
    const model = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;
    const body = { model, prompt: 'The history of the printing press begins', max_tokens: DECODE_TOKENS, ignore_eos: true, temperature: 0 };
    const { sentAt: sent, arrivals, completionTokens } = await streamCompletion(server.url, body);
    if (completionTokens !== DECODE_TOKENS) throw new Error(`expected ${DECODE_TOKENS} generated tokens, usage says ${completionTokens}`);
    const ttftMs = arrivals[0]! - sent;
    const decodeTokS = ((DECODE_TOKENS - 1) * 1000) / (arrivals.at(-1)! - arrivals[0]!);
    const memory = residentMemory(server.child.pid!);
    console.log(`int4 serving: loaded in ${loadSeconds.toFixed(0)} s, TTFT ${ttftMs.toFixed(0)} ms, decode ${decodeTokS.toFixed(2)} tok/s, peak RSS ${gib(memory.peak)} (now ${gib(memory.now)})`);
    const ok = conversion.peakRssBytes < CONVERSION_LIMIT_BYTES && memory.peak < SERVING_LIMIT_BYTES;
    console.log(`\n| figure | Llama-3.1-8B shape, random weights |\n|---|---|`);
    console.log(`| BF16 → int4 conversion | ${conversion.seconds.toFixed(0)} s, peak RSS ${gib(conversion.peakRssBytes)} (target < 4 GiB) |`);
    console.log(`| int4 serving: load | ${loadSeconds.toFixed(0)} s |`);
    console.log(`| int4 serving: peak RSS after one request | ${gib(memory.peak)} (target < 8 GiB) |`);
    console.log(`| int4 serving: TTFT (7-word prompt) | ${ttftMs.toFixed(0)} ms |`);
    console.log(`| int4 serving: batch-1 decode | ${decodeTokS.toFixed(2)} tok/s |`);
    console.log(ok ? 'PASS' : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
} finally {
  if (!keep) {
    rmSync(checkpoint, { recursive: true, force: true });
    rmSync(converted, { recursive: true, force: true });
  }
}
