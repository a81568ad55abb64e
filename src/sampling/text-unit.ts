// One shared instance of the sampler unit for the small text jobs (stop strings, selector
// ids), loaded at import so those APIs stay synchronous.
import { loadWasmUnit } from '../wasm/unit.ts';
import { Arena } from './arena.ts';

export const textUnit = await loadWasmUnit('sampler');
export const textArena = new Arena(textUnit, 4096);
