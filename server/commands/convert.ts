// `xllm convert --from HF_DIR --to OUT_DIR [--dtype fp32|fp16|int4] [--layout engine|optimum] [--task generate|embed]`
import { parseArgs } from 'node:util';
import { convertCheckpoint, type ConvertTask, type Layout } from '../../models/convert.ts';
import type { WeightDtype } from '../../models/decoder/weights.ts';

const USAGE = 'usage: xllm convert --from HF_DIR --to OUT_DIR [--dtype fp32|fp16|int4] [--layout engine|optimum] [--task generate|embed]';
const DTYPES: readonly WeightDtype[] = ['fp32', 'fp16', 'int4'];
const LAYOUTS: readonly Layout[] = ['engine', 'optimum'];
const TASKS: readonly ConvertTask[] = ['generate', 'embed'];

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        dtype: { type: 'string', default: 'fp32' },
        layout: { type: 'string', default: 'engine' },
        task: { type: 'string', default: 'generate' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`xllm convert: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { from, to, dtype, layout, task } = values as { from?: string; to?: string; dtype: string; layout: string; task: string };
  const problem = !from
    ? '--from is required'
    : !to
      ? '--to is required'
      : !DTYPES.includes(dtype as WeightDtype)
        ? `--dtype must be one of ${DTYPES.join(', ')}`
        : !LAYOUTS.includes(layout as Layout)
          ? `--layout must be one of ${LAYOUTS.join(', ')}`
          : !TASKS.includes(task as ConvertTask)
            ? `--task must be one of ${TASKS.join(', ')}`
            : null;
  if (problem) {
    console.error(`xllm convert: ${problem}\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  try {
    convertCheckpoint({ from: from!, to: to!, dtype: dtype as WeightDtype, layout: layout as Layout, task: task as ConvertTask });
  } catch (err) {
    console.error(`xllm convert: ${(err as Error).message}`);
    return 1;
  }
  console.log(`wrote ${to} (${layout}, ${dtype}${task === 'embed' ? ', embeddings' : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}
