// generation_config.json → the model's sampling defaults, as vLLM applies them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSamplingDefaults } from '../../src/model/generation-config.ts';

const root = mkdtempSync(join(tmpdir(), 'xllm-genconfig-'));
let dirs = 0;

/** A fresh model directory under `root`; with `config`, its generation_config.json. */
function dirWith(config?: unknown): string {
  const dir = join(root, String(dirs++));
  mkdirSync(dir);
  if (config !== undefined) writeFileSync(join(dir, 'generation_config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

test.after(() => rmSync(root, { recursive: true, force: true }));

test("Qwen2.5-Instruct's generation config gives its sampling defaults; other keys are ignored", () => {
  const qwen = { bos_token_id: 151643, do_sample: true, eos_token_id: [151645, 151643], pad_token_id: 151643, repetition_penalty: 1.05, temperature: 0.7, top_k: 20, top_p: 0.8 };
  assert.equal(readSamplingDefaults(dirWith(qwen)), { temperature: 0.7, topP: 0.8, topK: 20, repetitionPenalty: 1.05 });
  assert.equal(readSamplingDefaults(dirWith({ do_sample: false })), {});
  assert.equal(readSamplingDefaults(dirWith()), {}, 'no file: no defaults');
});

test('a malformed generation config is one clear error naming the file and the field', () => {
  assert.throws(() => readSamplingDefaults(dirWith('{"temperature": ')), /generation_config\.json/);
  assert.throws(() => readSamplingDefaults(dirWith({ top_p: '0.8' })), /top_p must be a number/);
  assert.throws(() => readSamplingDefaults(dirWith({ top_p: 0 })), /generation_config\.json: .*top_p/);
  assert.throws(() => readSamplingDefaults(dirWith([1])), /expected a JSON object/);
});

test.run();
