// The model's generation_config.json sampling defaults apply to the fields a request omits
// (vLLM's default), and a request's own fields still win.
import { mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureModel } from '../../models/recipe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MODEL, postJson, startServer } from './harness.ts';

/** The tiny model with a generation config whose top_k 1 makes every default request greedy. */
function tinyWithGreedyDefaults(): string {
  const source = ensureModel('tiny', 'fp32');
  const dir = mkdtempSync(join(tmpdir(), 'xllm-tiny-topk1-'));
  for (const file of readdirSync(source)) if (file !== 'generation_config.json') symlinkSync(join(source, file), join(dir, file));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ do_sample: true, top_k: 1, temperature: 0.9 }));
  return dir;
}

test('omitted fields take the generation config defaults; explicit fields override them', async () => {
  const engine = await Engine.load(tinyWithGreedyDefaults(), { threads: 1, maxBatchSize: 2, maxModelLen: 256 });
  const server = await startServer({}, engine);
  try {
    const complete = async (extra: Record<string, unknown>) => {
      const res = await postJson(`${server.url}/v1/completions`, { model: MODEL, prompt: 'The weather today', max_tokens: 12, ignore_eos: true, ...extra });
      assert.is(res.status, 200);
      return ((await res.json()) as { choices: Array<{ text: string }> }).choices[0]!.text;
    };
    const greedy = await complete({ temperature: 0 });
    assert.is(await complete({ seed: 1 }), greedy, 'top_k 1 from the config: greedy whatever the seed');
    assert.is(await complete({ seed: 2 }), greedy);
    const sampled = await Promise.all([1, 2, 3, 4].map((seed) => complete({ seed, top_k: -1, temperature: 2 })));
    assert.ok(sampled.some((text) => text !== greedy), 'an explicit top_k and temperature override the defaults');
  } finally {
    await server.close();
    await engine.close();
  }
});

test.run();
