// Hugging Face Qwen2 checkpoint → ONNX model directory. Everything is written into a
// temporary sibling of the output directory and renamed into place at the end, so a
// failure never leaves a half-written model behind.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE, MANIFEST_FORMAT_VERSION, type ModelManifest } from '../src/model/manifest.ts';
import { ExternalDataWriter } from './onnx/external-data.ts';
import { GraphBuilder, type Opset } from './onnx/graph.ts';
import { SafetensorsCheckpoint } from './safetensors/reader.ts';
import { readQwen2Config, type Qwen2Config } from './qwen2/config.ts';
import { buildEngineGraph } from './qwen2/engine-graph.ts';
import { buildOptimumGraph } from './qwen2/optimum-graph.ts';
import { ropePositions } from './qwen2/rope.ts';
import { WeightEmitter, type WeightDtype } from './qwen2/weights.ts';

export type Layout = 'engine' | 'optimum';

export interface ConvertOptions {
  from: string;
  to: string;
  dtype: WeightDtype;
  layout: Layout;
}

const OPSETS: Opset[] = [
  { domain: '', version: 17 },
  { domain: 'com.microsoft', version: 1 },
];

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

function checkInputDir(from: string): void {
  if (!existsSync(from) || !statSync(from).isDirectory()) throw new Error(`--from ${from}: not a directory`);
  for (const f of ['config.json', ...TOKENIZER_FILES]) {
    if (!existsSync(join(from, f))) throw new Error(`--from ${from}: missing ${f}`);
  }
}

function checkOutputDir(to: string): void {
  if (existsSync(to) && (!statSync(to).isDirectory() || readdirSync(to).length > 0)) {
    throw new Error(`--to ${to}: already exists and is not an empty directory`);
  }
}

/** generation_config.json from the checkpoint, or the token ids config.json carries. */
function generationConfig(from: string): string {
  const path = join(from, 'generation_config.json');
  if (existsSync(path)) return readFileSync(path, 'utf8');
  const config = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8'));
  return JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }, null, 2) + '\n';
}

function writeGraph(onnxPath: string, build: (g: GraphBuilder) => void): void {
  const dataName = `${basename(onnxPath)}_data`;
  const external = new ExternalDataWriter(join(dirname(onnxPath), dataName), dataName);
  try {
    const g = new GraphBuilder(external);
    build(g);
    writeFileSync(onnxPath, g.serialize('qwen2', OPSETS));
  } finally {
    external.close();
  }
}

function manifest(c: Qwen2Config, dtype: WeightDtype, io: Pick<ModelManifest, 'inputs' | 'outputs'>): ModelManifest {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    architecture: 'qwen2',
    layout: 'engine',
    dtype,
    kvDtype: 'float32',
    numLayers: c.numLayers,
    numAttentionHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numKeyValueHeads,
    headDim: c.headDim,
    hiddenSize: c.hiddenSize,
    vocabSize: c.vocabSize,
    maxPositionEmbeddings: ropePositions(c),
    ropeTheta: c.ropeTheta,
    positions: 'position_ids',
    graph: 'model.onnx',
    ...io,
  };
}

function writeModel(options: ConvertOptions, tmp: string): void {
  const { from, dtype, layout } = options;
  checkInputDir(from);
  const config = readQwen2Config(from);
  const ckpt = SafetensorsCheckpoint.open(from);
  try {
    if (layout === 'engine') {
      let io: Pick<ModelManifest, 'inputs' | 'outputs'> | undefined;
      writeGraph(join(tmp, 'model.onnx'), (g) => {
        io = buildEngineGraph(g, new WeightEmitter(g, ckpt, config, dtype), config);
      });
      writeFileSync(join(tmp, MANIFEST_FILE), JSON.stringify(manifest(config, dtype, io!), null, 2) + '\n');
    } else {
      mkdirSync(join(tmp, 'onnx'));
      writeGraph(join(tmp, 'onnx', 'model.onnx'), (g) => buildOptimumGraph(g, new WeightEmitter(g, ckpt, config, dtype), config));
    }
  } finally {
    ckpt.close();
  }
  const hfConfig = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8'));
  if (layout === 'optimum') hfConfig['transformers.js_config'] = { use_external_data_format: true };
  writeFileSync(join(tmp, 'config.json'), JSON.stringify(hfConfig, null, 2) + '\n');
  writeFileSync(join(tmp, 'generation_config.json'), generationConfig(from));
  for (const f of TOKENIZER_FILES) copyFileSync(join(from, f), join(tmp, f));
}

export function convertCheckpoint(options: ConvertOptions): void {
  const to = resolve(options.to);
  checkOutputDir(to);
  mkdirSync(dirname(to), { recursive: true });
  const tmp = join(dirname(to), `.${basename(to)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeModel({ ...options, from: resolve(options.from) }, tmp);
    if (existsSync(to)) rmSync(to, { recursive: true }); // an empty directory, checked above
    renameSync(tmp, to);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
