// Qwen2.5-VL checkpoint → the engine's text graph (model.onnx) and the vision graph
// (vision.onnx), with the manifest fields that describe both.
import { join } from 'node:path';
import type { MropeManifest } from '../../../src/model/manifest.ts';
import { textManifest } from '../../decoder/convert.ts';
import { WeightEmitter } from '../../decoder/weights.ts';
import { writeGraph } from '../../onnx/write-graph.ts';
import type { ConvertJob } from '../family.ts';
import type { Qwen25VlConfig } from './config.ts';
import { buildVlTextGraph, type VlTextIo } from './text-graph.ts';
import { buildVisionGraph, VISION_IO } from './vision-graph.ts';

export const VISION_GRAPH_FILE = 'vision.onnx';

/**
 * Writes both graphs into the job's directory. The vision tower keeps fp16 weights when the
 * text model is int4: it is small, and its first GEMM has K = 1176, which is not a multiple of
 * the int4 block.
 */
export function writeVlGraphs(job: ConvertJob, config: Qwen25VlConfig): MropeManifest {
  const { dir, ckpt, dtype } = job;
  let text: VlTextIo | undefined;
  writeGraph(join(dir, 'model.onnx'), 'qwen2_5_vl', (g) => {
    text = buildVlTextGraph(g, new WeightEmitter(g, ckpt, config.text, dtype), config.text, config.mropeSection);
  });
  const visionDtype = dtype === 'int4' ? 'fp16' : dtype;
  writeGraph(join(dir, VISION_GRAPH_FILE), 'qwen2_5_vl_vision', (g) => buildVisionGraph(g, new WeightEmitter(g, ckpt, config.text, visionDtype), config));
  return {
    ...textManifest('qwen2_5_vl', config.text, job, text!, { toolCallParser: 'qwen' }),
    positions: 'mrope',
    mropeSection: config.mropeSection,
    inputs: text!.inputs,
    vision: {
      graph: VISION_GRAPH_FILE,
      dtype: visionDtype,
      inputs: { pixelValues: VISION_IO.pixelValues, gridThw: VISION_IO.gridThw },
      outputs: { imageEmbeds: VISION_IO.imageEmbeds },
      patchInputSize: config.vision.patchInputSize,
      spatialMergeSize: config.vision.spatialMergeSize,
      tokens: config.tokens,
    },
  };
}
