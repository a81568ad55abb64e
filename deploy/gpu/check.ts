// The GPU run (issue: the forward pass on a GPU), run by deploy/gpu/run.sh on the GPU machine
// after it unpacked the bundle: builds the built-in models there with the project's own recipe,
// checks the device's answers against the cpu's, measures, and writes results.json and
// results.md into --out. Each step is timed, and a failing step is recorded and the next one
// still runs, so one call brings back everything that could be learnt.
//   node --import tsx deploy/gpu/check.ts --out DIR [--device webgpu|cuda|cpu] [--quick]
// --device cpu --quick is the rehearsal on a machine without a GPU: every step but the speed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureModel, type BuiltinModel, type ModelVariant } from '../../models/recipe.ts';
import { Engine, samplingParams, type Device, type GenerationEvent } from '../../src/index.ts';
import { measureOurSingle, measureOurStreams, type Placement } from '../../bench/decode/ours.ts';
import { promptTokens } from '../../bench/decode/workload.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const out = option('--out', '.gpu/out');
const device = option('--device', 'webgpu') as Device;
const quick = argv.includes('--quick');
const placement: Placement = { device, threads: availableParallelism() };

const results: { date: string; device: Device; machine: Record<string, unknown>; steps: Record<string, { ok: boolean; seconds: number; value?: unknown; error?: string }> } = {
  date: new Date().toISOString(),
  device,
  machine: {},
  steps: {},
};

function save(): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
}

async function step(name: string, run: () => Promise<unknown> | unknown): Promise<void> {
  const started = performance.now();
  console.log(`== ${name}`);
  try {
    const value = await run();
    results.steps[name] = { ok: true, seconds: (performance.now() - started) / 1000, value };
    console.log(JSON.stringify(value));
  } catch (error) {
    results.steps[name] = { ok: false, seconds: (performance.now() - started) / 1000, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    console.log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  }
  save();
}

function shell(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    return `(${command} failed: ${(error as Error).message.split('\n')[0]})`;
  }
}

async function greedy(engine: Engine, id: string, prompt: number[], tokens: number): Promise<{ ids: number[]; top: Array<Array<{ tokenId: number; logprob: number }>> }> {
  const ids: number[] = [];
  const top: Array<Array<{ tokenId: number; logprob: number }>> = [];
  const events: AsyncIterable<GenerationEvent> = engine.generate({ requestId: id, promptTokens: prompt, sampling: samplingParams({ temperature: 0 }), maxTokens: tokens, ignoreEos: true, logprobs: 5 });
  for await (const event of events) {
    if (event.type !== 'delta') continue;
    for (const t of event.tokens) {
      ids.push(t.tokenId);
      top.push(t.top ?? []);
    }
  }
  return { ids, top };
}

/** Greedy tokens and top-5 logprobs of the same prompts on the device and on the cpu. */
async function compareWithCpu(name: BuiltinModel, variant: ModelVariant, reference: ModelVariant, steps: number) {
  const onDevice = await Engine.load(ensureModel(name, variant), { ...placement, maxModelLen: 512 });
  const onCpu = await Engine.load(ensureModel(name, reference), { device: 'cpu', threads: availableParallelism(), maxModelLen: 512 });
  try {
    const prompts = [promptTokens(16, 1), promptTokens(64, 2), promptTokens(200, 3)];
    let sameTokens = 0;
    let total = 0;
    let worstLogprob = 0;
    for (const [i, prompt] of prompts.entries()) {
      const [a, b] = await Promise.all([greedy(onDevice, `d${i}`, prompt, steps), greedy(onCpu, `c${i}`, prompt, steps)]);
      // Up to the first disagreement both continue the same text: compare logprobs there.
      let k = 0;
      while (k < steps && a.ids[k] === b.ids[k]) k++;
      sameTokens += k;
      total += steps;
      for (let j = 0; j < Math.min(k + 1, steps); j++) {
        const cpu = new Map(b.top[j]!.map((t) => [t.tokenId, t.logprob]));
        for (const t of a.top[j]!) if (cpu.has(t.tokenId)) worstLogprob = Math.max(worstLogprob, Math.abs(t.logprob - cpu.get(t.tokenId)!));
      }
    }
    return { device: onDevice.device, deviceReason: onDevice.deviceReason, runtime: onDevice.runtime, greedyTokensEqual: `${sameTokens}/${total}`, worstTop5LogprobDifference: worstLogprob };
  } finally {
    await Promise.all([onDevice.close(), onCpu.close()]);
  }
}

async function main(): Promise<void> {
  await step('machine', () => {
    results.machine = {
      node: process.version,
      onnxruntime: ort.env.versions.node,
      backends: ort.listSupportedBackends(),
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      gpu: shell('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']),
      vulkanLoader: shell('sh', ['-c', 'ldconfig -p | grep -m1 libvulkan.so.1 || echo none']),
    };
    return results.machine;
  });
  await step('build tiny (fp32)', () => ensureModel('tiny', 'fp32'));
  await step('tiny: greedy tokens on the device equal the cpu engine (fp32 graph)', () => compareWithCpu('tiny', 'fp32', 'fp32', 24));
  if (quick) return;
  for (const variant of ['fp16', 'int4'] as const) await step(`build bench-0.5b (${variant}, and fp32 as the reference)`, () => [ensureModel('bench-0.5b', variant), ensureModel('bench-0.5b', 'fp32')]);
  await step('bench-0.5b fp16 on the device against fp32 on the cpu (fp16 tolerance)', () => compareWithCpu('bench-0.5b', 'fp16', 'fp32', 16));
  for (const variant of ['fp16', 'int4'] as const) {
    await step(`bench-0.5b ${variant}: batch-1 (512-token prompt, then decode)`, () => measureOurSingle(ensureModel('bench-0.5b', variant), 0, placement));
    await step(`bench-0.5b ${variant}: 1, 4 and 16 concurrent streams`, () => measureOurStreams(ensureModel('bench-0.5b', variant), placement));
  }
}

await main();
const lines = Object.entries(results.steps).map(([name, s]) => `| ${name} | ${s.ok ? 'ok' : 'FAILED'} | ${s.seconds.toFixed(1)} s | ${s.ok ? JSON.stringify(s.value).slice(0, 300) : (s.error ?? '').split('\n')[0]} |`);
writeFileSync(join(out, 'results.md'), [`# GPU run, ${results.date}, device ${device}`, '', '```', JSON.stringify(results.machine, null, 2), '```', '', '| step | | time | result |', '|---|---|---|---|', ...lines, ''].join('\n'));
console.log(`results in ${out}`);
