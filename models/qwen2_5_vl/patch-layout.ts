// Where each patch sits, computed inside the vision graph from `grid_thw` alone, so the
// caller feeds only pixels and grids. Patches arrive in the processor's order: image by
// image, frame by frame, each merge window (merge × merge patches) contiguous.
//
// transformers reorders patches window by window so that flash attention sees contiguous
// segments (get_window_index, cu_seqlens). Attention restricted by a mask is the same
// computation in any order, and the merger's groups of merge² consecutive patches are the
// same groups either way, so this graph keeps the processor's order and builds masks:
// full-attention blocks attend within a frame, window blocks within a frame's window of
// window_size / patch_size patches per side.
import type { GraphBuilder } from '../onnx/graph.ts';
import { DataType, attr } from '../onnx/graph.ts';
import type { VisionConfig } from './config.ts';

export interface PatchLayout {
  /** Patch row and column inside its frame, int64 [P]. */
  rows: string;
  cols: string;
  /** Additive attention masks [P, P]: 0 where attention is allowed, -inf elsewhere. */
  fullAttentionBias: string;
  windowAttentionBias: string;
}

export function buildPatchLayout(g: GraphBuilder, pixelValues: string, gridThw: string, v: VisionConfig): PatchLayout {
  const scalar = (name: string, value: number) => g.int64s(`layout.${name}`, [value], []);
  const op = (type: string, inputs: string[], name: string, attrs?: Record<string, ReturnType<typeof attr.int>>) => g.op(type, inputs, { name: `layout.${name}`, attrs });
  const m = v.spatialMergeSize;

  const count = op('Gather', [op('Shape', [pixelValues], 'shape'), scalar('zero', 0)], 'count', { axis: attr.int(0) });
  const patch = op('Range', [scalar('start', 0), count, scalar('step', 1)], 'patch');
  const gridColumn = (index: number, name: string) => op('Gather', [gridThw, scalar(`column${index}`, index)], name, { axis: attr.int(1) });
  const frames = gridColumn(0, 'frames');
  const heights = gridColumn(1, 'heights');
  const widths = gridColumn(2, 'widths');
  const frameSizes = op('Mul', [heights, widths], 'frame_sizes');
  const imageSizes = op('Mul', [frames, frameSizes], 'image_sizes');
  const imageEnds = op('CumSum', [imageSizes, scalar('axis0', 0)], 'image_ends');
  const imageStarts = op('Sub', [imageEnds, imageSizes], 'image_starts');

  // The image of each patch: how many images end at or before it.
  const endedBefore = op('GreaterOrEqual', [op('Unsqueeze', [patch, g.int64s('layout.axes1', [1])], 'patch_column'), op('Unsqueeze', [imageEnds, g.int64s('layout.axes0', [0])], 'ends_row')], 'ended_before');
  const image = g.op('ReduceSum', [op('Cast', [endedBefore], 'ended_before/int', { to: attr.int(DataType.INT64) }), g.int64s('layout.reduce_axes', [1])], {
    name: 'layout.image',
    attrs: { keepdims: attr.int(0) },
  });

  const local = op('Sub', [patch, op('Gather', [imageStarts, image], 'own_start')], 'local');
  const frameSize = op('Gather', [frameSizes, image], 'own_frame_size');
  const inFrame = op('Mod', [local, frameSize], 'in_frame');
  const unit = scalar('unit', m * m);
  const mergeSize = scalar('merge', m);
  const block = op('Div', [inFrame, unit], 'block');
  const withinBlock = op('Mod', [inFrame, unit], 'within_block');
  const blocksPerRow = op('Div', [op('Gather', [widths, image], 'own_width'), mergeSize], 'blocks_per_row');
  const rows = op('Add', [op('Mul', [op('Div', [block, blocksPerRow], 'block_row'), mergeSize], 'block_row_patch'), op('Div', [withinBlock, mergeSize], 'row_in_block')], 'rows');
  const cols = op('Add', [op('Mul', [op('Mod', [block, blocksPerRow], 'block_col'), mergeSize], 'block_col_patch'), op('Mod', [withinBlock, mergeSize], 'col_in_block')], 'cols');
  // The index of the frame's first patch identifies the frame.
  const frameKey = op('Sub', [patch, inFrame], 'frame_key');
  const windowSide = scalar('window_side', v.windowSize / v.patchSize);
  const windowRow = op('Div', [rows, windowSide], 'window_row');
  const windowCol = op('Div', [cols, windowSide], 'window_col');

  const same = (key: string, name: string) =>
    op('Equal', [op('Unsqueeze', [key, g.int64s(`layout.${name}.axes1`, [1])], `${name}/column`), op('Unsqueeze', [key, g.int64s(`layout.${name}.axes0`, [0])], `${name}/row`)], `same_${name}`);
  const sameFrame = same(frameKey, 'frame');
  const sameWindow = op('And', [sameFrame, op('And', [same(windowRow, 'window_row'), same(windowCol, 'window_col')], 'same_window_cell')], 'same_window');
  const allowed = g.float32s('layout.allowed', [0], []);
  const blocked = g.float32s('layout.blocked', [-Infinity], []);
  return {
    rows,
    cols,
    fullAttentionBias: op('Where', [sameFrame, allowed, blocked], 'full_bias'),
    windowAttentionBias: op('Where', [sameWindow, allowed, blocked], 'window_bias'),
  };
}
