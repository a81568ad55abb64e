import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModel } from '../../models/recipe.ts';
import { parseManifest, readManifest } from '../../src/model/manifest.ts';

const dir = ensureModel('tiny', 'fp32');
const converted = JSON.parse(readFileSync(join(dir, 'xllm.json'), 'utf8'));

test('the converted tiny model carries a manifest matching its config', () => {
  const m = readManifest(dir);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.is(m.numLayers, config.num_hidden_layers);
  assert.is(m.numKeyValueHeads, config.num_key_value_heads);
  assert.is(m.headDim, config.hidden_size / config.num_attention_heads);
  assert.is(m.vocabSize, config.vocab_size);
  assert.equal(m.inputs.pastKeys, ['past_key_values.0.key', 'past_key_values.1.key']);
  assert.equal(m.outputs.presentValues, ['present.0.value', 'present.1.value']);
});

test('a manifest with a bad field is rejected naming the field', () => {
  assert.throws(() => parseManifest({ ...converted, dtype: 'int8' }), /dtype/);
  assert.throws(() => parseManifest({ ...converted, numLayers: 3 }), /inputs\.pastKeys: must list one name per layer \(3\)/);
  assert.throws(() => parseManifest({ ...converted, numKeyValueHeads: 3 }), /numKeyValueHeads: must divide/);
  const { graph: _graph, ...withoutGraph } = converted;
  assert.throws(() => parseManifest(withoutGraph), /graph/);
});

test('a missing or malformed manifest file gives a clear error', () => {
  const empty = mkdtempSync(join(tmpdir(), 'xllm-manifest-'));
  try {
    assert.throws(() => readManifest(empty), /cannot read model manifest .*xllm\.json: ENOENT/);
    writeFileSync(join(empty, 'xllm.json'), '{ not json');
    assert.throws(() => readManifest(empty), /not valid JSON/);
  } finally {
    rmSync(empty, { recursive: true });
  }
});

test.run();
