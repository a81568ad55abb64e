// Child-process entry of bench/decode.ts: one measurement of one engine on one model, in a
// fresh process, so no measurement inherits another's heap, threads or page cache warmth.
// Prints one JSON line.
//   node --import tsx bench/decode/measure.ts ours-single|ours-streams|ours-long|ours-long-whole-chunks|tjs-single|tjs-sequential16 MODEL_DIR [VARIANT]
import { measureOurLongContext, measureOurSingle, measureOurStreams } from './ours.ts';
import { measureTransformersJsSequential16, measureTransformersJsSingle } from './transformers-js.ts';

const MEASUREMENTS = {
  'ours-single': (dir: string, variant: number) => measureOurSingle(dir, variant),
  'ours-streams': (dir: string) => measureOurStreams(dir),
  'ours-long': (dir: string, variant: number) => measureOurLongContext(dir, variant),
  'ours-long-whole-chunks': (dir: string, variant: number) => measureOurLongContext(dir, variant, 0),
  'tjs-single': (dir: string, variant: number) => measureTransformersJsSingle(dir, variant),
  'tjs-sequential16': (dir: string) => measureTransformersJsSequential16(dir),
};
export type Measurement = keyof typeof MEASUREMENTS;

const [what, dir, variant] = process.argv.slice(2);
if (!dir || !what || !(what in MEASUREMENTS)) {
  console.error(`usage: measure.ts ${Object.keys(MEASUREMENTS).join('|')} MODEL_DIR [VARIANT]`);
  process.exit(2);
}
console.log(JSON.stringify(await MEASUREMENTS[what as Measurement](dir, Number(variant ?? 0))));
