// The models' own Jinja chat templates; expected strings written out by hand from the templates.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tokenizer } from '../../src/index.ts';
import { MODEL_DIRS } from './reference.ts';

let qwen: Tokenizer;
let llama: Tokenizer;
test.before(async () => {
  qwen = await Tokenizer.load(MODEL_DIRS.qwen3);
  llama = await Tokenizer.load(MODEL_DIRS.llama3);
});

test('Qwen3: system + user with a generation prompt', () => {
  const text = qwen.applyChatTemplate(
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ],
    { addGenerationPrompt: true },
  );
  assert.is(text, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
});

test('Qwen3: enable_thinking=false adds an empty think block', () => {
  const text = qwen.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true, enable_thinking: false });
  assert.is(text, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
});

test('Qwen3: multi-turn drops earlier reasoning; array-of-text-parts content', () => {
  const text = qwen.applyChatTemplate([
    { role: 'user', content: [{ type: 'text', text: 'One' }, { type: 'text', text: ' two' }] },
    { role: 'assistant', content: '<think>\nhmm\n</think>\n\nThree' },
    { role: 'user', content: 'Four' },
  ]);
  assert.is(text, '<|im_start|>user\nOne two<|im_end|>\n<|im_start|>assistant\nThree<|im_end|>\n<|im_start|>user\nFour<|im_end|>\n');
});

test('Llama-3: bos_token is a template variable', () => {
  const text = llama.applyChatTemplate([{ role: 'user', content: ' Hello ' }], { addGenerationPrompt: true });
  assert.is(text, '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
});

test('template errors are clear', () => {
  assert.throws(() => qwen.applyChatTemplate([{ content: 'x' } as never]), /messages\[0\]\.role/);
  assert.throws(() => qwen.applyChatTemplate('nope' as never), /messages must be an array/);
});

test.run();
