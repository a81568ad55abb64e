// Where each patch sits, computed inside the vision graph from `grid_thw` alone, so the
// caller feeds only pixels and grids. Patches arrive in the processor's order: image by
// image, frame by frame, each merge window (merge × merge patches) contiguous.
//
// transformers reorders patches window by window so that flash attention sees contiguous
// segments (get_window_index, cu_seqlens). Attention within segments is the same computation
// in any order, and the merger's groups of merge² consecutive patches are the same groups
// either way, so this graph keeps the processor's order. Full-attention blocks attend within
// a frame (vision-graph.ts batches a run's frames). Window blocks (most of them) scatter
// patches into fixed window slots, side² per window of window_size / patch_size patches per
// side (edge windows partly empty, masked as keys), so their attention costs P · side²
// instead of P².
import type { GraphBuilder } from '../../onnx/graph.ts';
import { DataType, attr, type Attribute } from '../../onnx/graph.ts';
import type { VisionConfig } from './config.ts';

export interface PatchLayout {
  /** Patch row and column inside its frame, int64 [P]. */
  rows: string;
  cols: string;
  /** Patches per window slot group: window side². */
  windowSlots: number;
  /** Rows [P, ...trailing] → window slots [windows · windowSlots, ...trailing], empty slots zero. */
  toWindows(x: string, trailing: number[], name: string): string;
  /** Window slots [windows · windowSlots, ...] → patch rows [P, ...]. */
  fromWindows(x: string, name: string): string;
  /** Additive key mask [windows, 1, 1, windowSlots]: -inf on empty slots. */
  windowKeyBias: string;
}

export function buildPatchLayout(g: GraphBuilder, pixelValues: string, gridThw: string, v: VisionConfig): PatchLayout {
  const scalar = (name: string, value: number) => g.int64s(`layout.${name}`, [value], []);
  const op = (type: string, inputs: string[], name: string, attrs?: Record<string, Attribute>) => g.op(type, inputs, { name: `layout.${name}`, attrs });
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
  const allowed = g.float32s('layout.allowed', [0], []);
  const blocked = g.float32s('layout.blocked', [-Infinity], []);

  // Windows are numbered image by image, frame by frame, row-major within a frame.
  const side = v.windowSize / v.patchSize;
  const windowSide = scalar('window_side', side);
  const sideMinusOne = scalar('window_side_minus_one', side - 1);
  const roundUp = (t: string, name: string) => op('Div', [op('Add', [t, sideMinusOne], `${name}/padded`), windowSide], name);
  const windowRowsPerFrame = roundUp(heights, 'window_rows');
  const windowColsPerFrame = roundUp(widths, 'window_cols');
  const windowsPerFrame = op('Mul', [windowRowsPerFrame, windowColsPerFrame], 'windows_per_frame');
  const imageWindows = op('Mul', [frames, windowsPerFrame], 'image_windows');
  const imageWindowStarts = op('Sub', [op('CumSum', [imageWindows, scalar('axis0_windows', 0)], 'image_window_ends'), imageWindows], 'image_window_starts');
  const windowCount = g.op('ReduceSum', [imageWindows, g.int64s('layout.window_count_axes', [0])], { name: 'layout.window_count', attrs: { keepdims: attr.int(1) } });
  const frame = op('Div', [local, frameSize], 'frame');
  const window = op('Add', [
    op('Add', [op('Gather', [imageWindowStarts, image], 'own_window_start'), op('Mul', [frame, op('Gather', [windowsPerFrame, image], 'own_windows_per_frame')], 'frame_windows')], 'frame_window_start'),
    op('Add', [op('Mul', [op('Div', [rows, windowSide], 'window_row'), op('Gather', [windowColsPerFrame, image], 'own_window_cols')], 'window_row_start'), op('Div', [cols, windowSide], 'window_col')], 'window_in_frame'),
  ], 'window');
  const windowSlots = side * side;
  const inWindow = op('Add', [op('Mul', [op('Mod', [rows, windowSide], 'row_in_window'), windowSide], 'row_in_window_start'), op('Mod', [cols, windowSide], 'col_in_window')], 'in_window');
  const slot = op('Unsqueeze', [op('Add', [op('Mul', [window, scalar('window_slots', windowSlots)], 'window_first_slot'), inWindow], 'slot'), g.int64s('layout.slot.axes', [1])], 'slot/column');
  const slotCount = op('Mul', [windowCount, scalar('window_slots_count', windowSlots)], 'slot_count');

  const toWindows = (x: string, trailing: number[], name: string) => {
    const shape = op('Concat', [slotCount, g.int64s(`layout.${name}.trailing`, trailing)], `${name}/shape`, { axis: attr.int(0) });
    const empty = g.op('ConstantOfShape', [shape], { name: `layout.${name}/empty` });
    return g.op('ScatterND', [empty, slot, x], { name: `layout.${name}/scatter` });
  };
  const ones = op('Expand', [g.float32s('layout.one', [1], []), op('Shape', [patch], 'patch_shape')], 'ones');
  const filled = op('Greater', [toWindows(ones, [], 'filled'), g.float32s('layout.half', [0.5], [])], 'filled/bool');
  const keyShape = g.int64s('layout.key_bias_shape', [-1, 1, 1, windowSlots]);
  const windowKeyBias = op('Reshape', [op('Where', [filled, allowed, blocked], 'key_bias/flat'), keyShape], 'key_bias');
  return {
    rows,
    cols,
    windowSlots,
    toWindows,
    fromWindows: (x, name) => g.op('GatherND', [x, slot], { name: `layout.${name}/gather` }),
    windowKeyBias,
  };
}
