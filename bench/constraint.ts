// Constrained decoding cost on Qwen's 151,936-token vocabulary: compiling a schema, and the
// per-step work (mask the row, advance the automaton) along outputs drawn through the
// constraint, first on a fresh automaton (every state met for the first time: its mask is
// found by the trie walk) and then on the same automaton again (masks cached). With
// --decode, also bench-0.5b int4 decode tokens/s with and without a constraint, in rounds.
//   npx tsx bench/constraint.ts [--decode] [--rounds 3]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Automaton, compileConstraint, VocabularyTrie, type ConstraintSpec } from '../src/constraint/index.ts';
import { Engine } from '../src/engine/engine.ts';
import { samplingParams } from '../src/sampling/params.ts';
import { seedRng } from '../src/sampling/rng.ts';
import { Sampler } from '../src/sampling/sampler.ts';
import { Tokenizer } from '../src/tokenizer/tokenizer.ts';
import { ensureModel } from '../models/recipe.ts';

const { values } = parseArgs({ options: { decode: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' } } });

/** A tool call as an agent asks for it: name and arguments with enums, bounds and nesting. */
const TOOL_SCHEMA = {
  type: 'object',
  properties: {
    name: { const: 'get_weather' },
    arguments: {
      type: 'object',
      properties: {
        location: { type: 'string', description: 'City and country' },
        unit: { enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 14 },
        include: { type: 'array', items: { enum: ['wind', 'rain', 'uv', 'humidity'] }, maxItems: 4 },
      },
      required: ['location', 'unit'],
      additionalProperties: false,
    },
  },
  required: ['name', 'arguments'],
  additionalProperties: false,
};

const NESTED_SCHEMA = {
  $defs: {
    item: {
      type: 'object',
      properties: { sku: { type: 'string', pattern: '^[A-Z]{2}-\\d{4}$' }, qty: { type: 'integer', minimum: 1, maximum: 99 }, price: { type: 'number', minimum: 0, maximum: 1000 } },
      required: ['sku', 'qty', 'price'],
      additionalProperties: false,
    },
  },
  type: 'object',
  properties: {
    order: { type: 'string', format: 'uuid' },
    placed: { type: 'string', format: 'date-time' },
    customer: { type: 'object', properties: { name: { type: 'string', maxLength: 40 }, email: { type: 'string', format: 'email' }, vip: { type: 'boolean' } }, required: ['name', 'email'], additionalProperties: false },
    items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 1, maxItems: 5 },
    note: { anyOf: [{ type: 'string', maxLength: 80 }, { type: 'null' }] },
  },
  required: ['order', 'placed', 'customer', 'items'],
  additionalProperties: false,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

const tokenizer = await Tokenizer.load(ensureModel('tiny', 'fp32'));
const VOCAB = 151_936;
const sampler = await Sampler.create(VOCAB, 1);
let started = performance.now();
const trie = VocabularyTrie.build(sampler, { usableBytes: (id) => (tokenizer.hasId(id) && !tokenizer.isSpecial(id) ? tokenizer.tokenBytes(id) : null) });
console.log(`vocabulary trie: ${(performance.now() - started).toFixed(0)} ms (once per engine); ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`);

/** Per-step times (ms) of `walks` outputs drawn uniformly among the allowed tokens, biased to end. */
function walk(automaton: Automaton, walks: number, seed: number): { steps: number[]; tokens: number } {
  const steps: number[] = [];
  const rng = seedRng(seed);
  let tokens = 0;
  for (let w = 0; w < walks; w++) {
    let state = automaton.start;
    for (let step = 0; step < 400; step++) {
      sampler.logitsView(1).fill(0); // what the model writes, outside the timing
      const t0 = performance.now();
      automaton.applyMask(state, 0);
      const elapsed = performance.now() - t0;
      const allowed = automaton.allowed(state);
      const eos = allowed.filter((id) => tokenizer.eosTokenIds.includes(id));
      if (eos.length > 0 && (allowed.length === eos.length || rng[0] % 4 === 0)) break;
      rng[0] = (Math.imul(rng[0] ^ (rng[0] >>> 15), 0x2c1b3c6d) + (rng[1] = (rng[1] + 0x9e3779b9) >>> 0)) >>> 0;
      // Prefer short tokens so strings end: draw among the allowed tokens of the smallest bytes.
      const choices = allowed.filter((id) => !tokenizer.eosTokenIds.includes(id));
      const token = choices[rng[0] % choices.length];
      const t1 = performance.now();
      state = automaton.step(state, token);
      steps.push(elapsed + performance.now() - t1);
      tokens++;
    }
  }
  return { steps, tokens };
}

const specs: Array<[string, ConstraintSpec]> = [
  ['tool call', { type: 'json_schema', schema: TOOL_SCHEMA }],
  ['nested order', { type: 'json_schema', schema: NESTED_SCHEMA }],
];
console.log('\n| schema | compile (TS → NFA) | automaton | first walk: median / p90 ms per step | cached: median / p90 ms per step | DFA states |');
console.log('|---|---|---|---|---|---|');
for (const [name, spec] of specs) {
  started = performance.now();
  const compiled = compileConstraint(spec);
  const compileMs = performance.now() - started;
  started = performance.now();
  const automaton = Automaton.create(trie, compiled.nfa, tokenizer.eosTokenIds);
  const createMs = performance.now() - started;
  const cold = walk(automaton, 5, 1);
  const warm = walk(automaton, 5, 1); // the same outputs: every state's mask is cached
  console.log(
    `| ${name} | ${compileMs.toFixed(1)} ms (${compiled.nfa.states} NFA states) | ${createMs.toFixed(1)} ms | ${median(cold.steps).toFixed(3)} / ${p90(cold.steps).toFixed(3)} | ${median(warm.steps).toFixed(3)} / ${p90(warm.steps).toFixed(3)} | ${automaton.size} |`,
  );
  automaton.retire();
}

if (values.decode) {
  const dir = ensureModel('bench-0.5b', 'int4');
  const engine = await Engine.load(dir, { threads: 2, maxBatchSize: 1 });
  const promptTokens = engine.tokenizer.encode('Call the weather tool for Paris: ');
  const decode = async (constraint?: ConstraintSpec) => {
    let first = 0;
    let count = 0;
    const t0 = performance.now();
    for await (const event of engine.generate({ requestId: 'b', promptTokens, sampling: samplingParams({ temperature: 1, seed: 7 }), maxTokens: 96, ...(constraint ? { constraint } : { ignoreEos: true }) })) {
      if (event.type !== 'delta') continue;
      if (count === 0) first = performance.now();
      count += event.tokens.length;
    }
    return { tokensPerSecond: (count - 1) / ((performance.now() - first) / 1000), count, ms: performance.now() - t0 };
  };
  await decode(); // warm the sessions
  await decode({ type: 'json_schema', schema: TOOL_SCHEMA }); // and the automaton
  const ratios: number[] = [];
  console.log('\n| round | plain tok/s | constrained tok/s (tool schema, tokens) | slowdown |');
  console.log('|---|---|---|---|');
  for (let round = 1; round <= Number(values.rounds); round++) {
    const plain = await decode();
    const constrained = await decode({ type: 'json_schema', schema: TOOL_SCHEMA });
    const slowdown = 1 - constrained.tokensPerSecond / plain.tokensPerSecond;
    ratios.push(slowdown);
    console.log(`| ${round} | ${plain.tokensPerSecond.toFixed(1)} | ${constrained.tokensPerSecond.toFixed(1)} (${constrained.count}) | ${(slowdown * 100).toFixed(1)} % |`);
  }
  console.log(`median slowdown: ${(median(ratios) * 100).toFixed(1)} %`);
  await engine.close();
}
