import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../models/convert.ts';
import { parseQwen25VlConfig } from '../../models/families/qwen2_5_vl/config.ts';
import { ensureCheckpoint, ensureModel } from '../../models/recipe.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { ChatTemplate } from '../../src/tokenizer/chat-template.ts';
import { readVlManifest } from './vl-session.ts';

const checkpoint = ensureCheckpoint('tiny-vl');
const dir = ensureModel('tiny-vl', 'fp32');
const hfConfig = JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8'));
const converted = JSON.parse(readFileSync(join(dir, 'xllm.json'), 'utf8'));

test('the converted tiny-vl model describes both graphs and the vision tokens of its config', () => {
  const m = readVlManifest(dir);
  assert.is(m.positions, 'mrope');
  assert.equal(m.mropeSection, hfConfig.rope_scaling.mrope_section);
  assert.equal(m.vision.tokens, { visionStart: hfConfig.vision_start_token_id, visionEnd: hfConfig.vision_end_token_id, imagePad: hfConfig.image_token_id });
  assert.is(m.vision.patchInputSize, 3 * hfConfig.vision_config.temporal_patch_size * hfConfig.vision_config.patch_size ** 2);
  for (const f of [m.graph, m.vision.graph, 'preprocessor_config.json']) assert.ok(existsSync(join(dir, f)), `missing ${f}`);
});

test('a VL manifest with inconsistent fields is rejected naming the field', () => {
  assert.throws(() => parseManifest({ ...converted, mropeSection: [2, 3, 4] }), /mropeSection: must sum to headDim \/ 2 \(8\)/);
  const { vision: _vision, ...withoutVision } = converted;
  assert.throws(() => parseManifest(withoutVision), /vision/);
  assert.throws(() => parseManifest({ ...converted, positions: 'xy' }), /positions/);
});

test("a checkpoint saved with newer transformers' names (model.language_model.*, model.visual.*) converts to the same graphs", () => {
  const renamed = mkdtempSync(join(tmpdir(), 'xllm-vl-names-'));
  try {
    cpSync(checkpoint, renamed, { recursive: true });
    const path = join(renamed, 'model.safetensors');
    const file = readFileSync(path);
    const length = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + length).toString('utf8')) as Record<string, unknown>;
    const rename = (name: string) =>
      name.startsWith('visual.') ? `model.${name}` : name.startsWith('model.') ? name.replace(/^model\./, 'model.language_model.') : name;
    const renamedHeader = Object.fromEntries(Object.entries(header).map(([name, value]) => [rename(name), value]));
    const json = Buffer.from(JSON.stringify(renamedHeader));
    const padded = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(padded.length));
    writeFileSync(path, Buffer.concat([prefix, padded, file.subarray(8 + length)]));
    assert.ok(Object.keys(renamedHeader).some((n) => n.startsWith('model.language_model.layers.')) && Object.keys(renamedHeader).some((n) => n.startsWith('model.visual.')));
    const out = join(renamed, 'out');
    convertCheckpoint({ from: renamed, to: out, dtype: 'fp32', layout: 'engine' });
    for (const f of ['model.onnx', 'vision.onnx']) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(dir, f))), `${f} differs`);
  } finally {
    rmSync(renamed, { recursive: true, force: true });
  }
});

test('config.json errors name the bad field', () => {
  const bad = (patch: Record<string, unknown>) => () => parseQwen25VlConfig({ ...hfConfig, ...patch });
  assert.throws(bad({ rope_scaling: { type: 'mrope', mrope_section: [2, 2, 2] } }), /mrope_section sums to 6, expected head_dim \/ 2 = 8/);
  assert.throws(bad({ vision_config: { ...hfConfig.vision_config, out_hidden_size: 32 } }), /out_hidden_size 32 differs from hidden_size 64/);
  assert.throws(bad({ vision_config: { ...hfConfig.vision_config, window_size: 100 } }), /window_size must be a multiple/);
  assert.throws(bad({ image_token_id: undefined }), /image_token_id/);
});

test('the optimum layout is refused for a VL checkpoint', () => {
  assert.throws(() => convertCheckpoint({ from: checkpoint, to: join(tmpdir(), `xllm-vl-optimum-${process.pid}`), dtype: 'fp32', layout: 'optimum' }), /optimum is not supported for qwen2_5_vl/);
});

test('the chat template emits one vision_start/image_pad/vision_end per image part, tokens the tokenizer knows', () => {
  const tokenizerConfig = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  const template = new ChatTemplate(tokenizerConfig.chat_template, {});
  const text = template.render(
    [{ role: 'user', content: [{ type: 'text', text: 'A' }, { type: 'image_url', image_url: { url: 'data:,' } }, { type: 'text', text: 'B' }, { type: 'image' }] }],
    { addGenerationPrompt: true },
  );
  const block = '<|vision_start|><|image_pad|><|vision_end|>';
  assert.is(text, `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nA${block}B${block}<|im_end|>\n<|im_start|>assistant\n`);
  const added = new Map<string, number>(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).added_tokens.map((t: { content: string; id: number }) => [t.content, t.id]));
  const m = readVlManifest(dir);
  assert.equal([added.get('<|vision_start|>'), added.get('<|image_pad|>'), added.get('<|vision_end|>')], [m.vision.tokens.visionStart, m.vision.tokens.imagePad, m.vision.tokens.visionEnd]);
});

test.run();
