// A text family's checkpoint → the engine's graph (or the optimum export) with its manifest:
// the decoder-only conversion that Qwen2, Qwen3, Llama 3 and Mistral share.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FORMAT_VERSION, type TextManifest } from '../../src/model/manifest.ts';
import type { ConvertJob } from '../families/family.ts';
import { writeGraph } from '../onnx/write-graph.ts';
import type { DecoderConfig } from './config.ts';
import { buildEngineGraph, type EngineIo, type GraphOutput } from './engine-graph.ts';
import { ropePositions } from './rope.ts';
import { WeightEmitter } from './weights.ts';

/** The manifest fields of an engine-layout text graph. */
export function textManifest(family: string, c: DecoderConfig, job: Pick<ConvertJob, 'dtype' | 'embedding'>, io: EngineIo, chat: TextManifest['chat'] = {}): TextManifest {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    architecture: family,
    layout: 'engine',
    dtype: job.dtype,
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
    chat,
    ...(job.embedding ? { embedding: job.embedding } : {}),
    ...io,
  };
}

/**
 * The engine graph of a decoder-only model; `optimum` builds the transformers.js export
 * instead when the family has one (else the layout is refused). For embeddings, either
 * layout outputs the final hidden states in place of logits.
 */
export function convertDecoder(
  family: string,
  config: DecoderConfig,
  job: ConvertJob,
  options: { chat?: TextManifest['chat']; optimum?: (g: Parameters<typeof buildEngineGraph>[0], w: WeightEmitter, c: DecoderConfig, output: GraphOutput) => void } = {},
): TextManifest | null {
  const output: GraphOutput = job.task === 'embed' ? 'hidden_states' : 'logits';
  if (job.layout === 'optimum') {
    if (!options.optimum) throw new Error(`--layout optimum is not supported for ${family} checkpoints`);
    mkdirSync(join(job.dir, 'onnx'));
    writeGraph(join(job.dir, 'onnx', 'model.onnx'), family, (g) => options.optimum!(g, new WeightEmitter(g, job.ckpt, config, job.dtype), config, output));
    return null;
  }
  let io: EngineIo | undefined;
  writeGraph(join(job.dir, 'model.onnx'), family, (g) => {
    io = buildEngineGraph(g, new WeightEmitter(g, job.ckpt, config, job.dtype), config, undefined, output);
  });
  return textManifest(family, config, job, io!, options.chat);
}
