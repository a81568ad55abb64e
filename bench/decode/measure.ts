// Child-process entry of bench/decode.ts: one peer, one model, a fresh process each, so no
// measurement inherits another's heap, threads or page cache warmth. Prints one JSON line.
//   node --import tsx bench/decode/measure.ts ours|transformers-js MODEL_DIR REPS
import { measureOurs } from './ours.ts';
import { measureTransformersJs } from './transformers-js.ts';

const [peer, dir, reps] = process.argv.slice(2);
if (!dir || !reps || (peer !== 'ours' && peer !== 'transformers-js')) {
  console.error('usage: measure.ts ours|transformers-js MODEL_DIR REPS');
  process.exit(2);
}
const figures = peer === 'ours' ? await measureOurs(dir, Number(reps)) : await measureTransformersJs(dir, Number(reps));
console.log(JSON.stringify(figures));
