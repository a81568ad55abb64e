// Constrained generation on the built-in random model, which would write anything at all:
// over many seeds at temperature 1 (and greedy, and beam search), every output of every
// schema parses and validates under ajv, a real JSON Schema validator; regex outputs match
// JavaScript's RegExp; choices are one of the choices. What cannot be enforced is refused.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Engine } from '../../src/engine/engine.ts';
import { EngineError } from '../../src/engine/errors.ts';
import type { ConstraintSpec } from '../../src/constraint/index.ts';
import { samplingParams } from '../../src/sampling/params.ts';
import { collect, loadTiny } from '../engine/helpers.ts';

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false });
(addFormats as unknown as typeof addFormats.default)(ajv);

let engine: Engine;
test.before(async () => {
  engine = await loadTiny({ maxBatchSize: 4 });
});
test.after(() => engine.close());

const short = { type: 'string', maxLength: 12 };

/** Schemas of the suite: every construct the compiler supports, strings bounded so a random model finishes. */
const SCHEMAS: Record<string, object> = {
  nested: {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      owner: { type: 'object', properties: { name: short, email: { type: 'string', format: 'email' } }, required: ['name'], additionalProperties: false },
      active: { type: 'boolean' },
    },
    required: ['id', 'owner', 'active'],
    additionalProperties: false,
  },
  arrays: {
    type: 'object',
    properties: {
      tags: { type: 'array', items: short, minItems: 1, maxItems: 3 },
      matrix: { type: 'array', items: { type: 'array', items: { type: 'integer', minimum: -5, maximum: 5 }, maxItems: 3 }, maxItems: 2 },
      empty: { type: 'array', maxItems: 0 },
    },
    required: ['tags', 'matrix'],
    additionalProperties: false,
  },
  enums: {
    type: 'object',
    properties: {
      color: { enum: ['red', 'green', 'blue'] },
      size: { type: 'integer', enum: [1, 2, 3, 4.5] },
      fixed: { const: { a: [1, 'x'], b: null } },
      unit: { type: 'string', const: '°C' },
    },
    required: ['color', 'size', 'fixed', 'unit'],
    additionalProperties: false,
  },
  unions: {
    type: 'object',
    properties: {
      value: { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, short, { type: 'null' }] },
      shape: {
        oneOf: [
          { type: 'object', properties: { kind: { const: 'circle' }, r: { type: 'number', minimum: 0, maximum: 10 } }, required: ['kind', 'r'], additionalProperties: false },
          { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'integer', exclusiveMinimum: 0, maximum: 100 } }, required: ['kind', 'side'], additionalProperties: false },
        ],
      },
      either: { type: ['boolean', 'null'] },
    },
    required: ['value', 'shape', 'either'],
    additionalProperties: false,
  },
  refs: {
    $defs: {
      node: {
        type: 'object',
        properties: { label: { type: 'string', maxLength: 6 }, children: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 } },
        required: ['label'],
        additionalProperties: false,
      },
    },
    type: 'object',
    properties: { root: { $ref: '#/$defs/node' }, legacy: { $ref: '#/definitions/point' } },
    required: ['root'],
    additionalProperties: false,
    definitions: { point: { type: 'array', items: { type: 'number', minimum: -1.5, maximum: 2.5 }, minItems: 2, maxItems: 2 } },
  },
  numbers: {
    type: 'object',
    properties: {
      small: { type: 'number', minimum: -3, maximum: 3 },
      open: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1.5 },
      count: { type: 'integer', minimum: 7, maximum: 1234 },
      negative: { type: 'integer', maximum: -10, minimum: -99 },
      any: { type: 'number' },
    },
    required: ['small', 'open', 'count', 'negative', 'any'],
    additionalProperties: false,
  },
  optional: {
    type: 'object',
    properties: { a: { type: 'integer' }, b: short, c: { type: 'boolean' }, d: { type: 'null' } },
    required: ['c'],
    additionalProperties: false,
  },
  formats: {
    type: 'object',
    properties: {
      day: { type: 'string', format: 'date' },
      at: { type: 'string', format: 'date-time' },
      time: { type: 'string', format: 'time' },
      id: { type: 'string', format: 'uuid' },
      mail: { type: 'string', format: 'email' },
      code: { type: 'string', pattern: '^[A-Z]{3}-\\d{2,4}$' },
      name: { type: 'string', minLength: 2, maxLength: 5 },
    },
    required: ['day', 'at', 'time', 'id', 'mail', 'code', 'name'],
    additionalProperties: false,
  },
};

interface Run {
  text: string;
  finish: string;
  tokens: number;
}

async function run(constraint: ConstraintSpec, seed: number, extra: Record<string, unknown> = {}): Promise<Run[]> {
  const promptTokens = engine.tokenizer.encode(`Answer in JSON (${seed}): `);
  const result = await collect(
    engine.generate({ requestId: `c${seed}`, promptTokens, sampling: samplingParams({ temperature: 1, seed }), maxTokens: 600, constraint, ...extra }),
  );
  return result.text.map((text, i) => ({ text, finish: result.finish[i], tokens: result.tokens[i]?.length ?? 0 }));
}

for (const [name, schema] of Object.entries(SCHEMAS)) {
  test(`schema suite, ${name}: every output over 12 seeds parses and validates`, async () => {
    const validate = ajv.compile(schema);
    for (let seed = 1; seed <= 12; seed++) {
      for (const out of await run({ type: 'json_schema', schema }, seed, seed === 12 ? { sampling: samplingParams({ temperature: 0 }) } : {})) {
        assert.is(out.finish, 'stop', `${name} seed ${seed} did not finish: ${out.text.slice(0, 200)}`);
        const value = JSON.parse(out.text);
        assert.ok(validate(value), `${name} seed ${seed}: ${out.text}\n${JSON.stringify(validate.errors)}`);
      }
    }
  });
}

test('json_object: every output is a JSON object', async () => {
  for (let seed = 1; seed <= 8; seed++) {
    for (const out of await run({ type: 'json_object' }, seed, { maxTokens: 200 })) {
      if (out.finish === 'length') continue; // an open object cut off by max_tokens
      const value = JSON.parse(out.text);
      assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), out.text);
    }
  }
});

test('regex and choice: outputs match the RegExp, choices are one of them; n sequences and beams are each constrained', async () => {
  const patterns = ['\\d{3}-[a-z]{2,5}', '(yes|no|maybe)!?', '[A-Z][a-z]{1,6}( [A-Z][a-z]{1,6}){0,2}', '\\w{1,10}@\\w{1,10}\\.(com|org)'];
  for (const pattern of patterns) {
    const reference = new RegExp(`^(?:${pattern})$`, 'u');
    for (let seed = 1; seed <= 4; seed++) {
      for (const out of await run({ type: 'regex', pattern }, seed, { n: 2 })) {
        assert.is(out.finish, 'stop', `${pattern}: ${out.text}`);
        assert.ok(reference.test(out.text), `${pattern} does not match ${JSON.stringify(out.text)}`);
      }
    }
  }
  const choices = ['positive', 'negative', 'neutral', '中立'];
  for (let seed = 1; seed <= 6; seed++) {
    for (const out of await run({ type: 'choice', choices }, seed)) assert.ok(choices.includes(out.text), out.text);
  }
  const beams = await run({ type: 'json_schema', schema: SCHEMAS.optional }, 1, { beam: { width: 3, candidatesPerBeam: 3 } });
  assert.is(beams.length, 3);
  const validate = ajv.compile(SCHEMAS.optional);
  for (const beam of beams) assert.ok(validate(JSON.parse(beam.text)), beam.text);
});

test('with constraintAfter, the text up to the marker is free and the constraint holds after it', async () => {
  const thinkEnd = engine.tokenizer.tokenToId('</think>')!;
  const validate = ajv.compile(SCHEMAS.optional);
  for (let seed = 1; seed <= 4; seed++) {
    // The bias writes the marker at once (the reasoning is free, so nothing masks it); after
    // it the constraint masks the marker and everything else that is not the schema's JSON.
    const [out] = await run({ type: 'json_schema', schema: SCHEMAS.optional }, seed, {
      constraintAfter: '</think>',
      sampling: samplingParams({ temperature: 1, seed, logitBias: new Map([[thinkEnd, 100]]) }),
    });
    const [reasoning, answer] = out.text.split('</think>');
    assert.is(reasoning, '', out.text);
    assert.ok(validate(JSON.parse(answer)), out.text);
  }
});

test('the same seed gives the same constrained output', async () => {
  const constraint: ConstraintSpec = { type: 'json_schema', schema: SCHEMAS.unions };
  assert.equal(await run(constraint, 5), await run(constraint, 5));
});

test('what cannot be enforced exactly is refused, naming the keyword', async () => {
  const cases: Array<[ConstraintSpec, string, RegExp]> = [
    [{ type: 'json_schema', schema: { type: 'object', properties: { n: { type: 'number', multipleOf: 3 } } } }, 'constraint.schema.properties.n.multipleOf', /multipleOf is not supported/],
    [{ type: 'json_schema', schema: { type: 'array', items: { type: 'integer' }, uniqueItems: true } }, 'constraint.schema.uniqueItems', /uniqueItems/],
    [{ type: 'json_schema', schema: { type: 'string', format: 'hostname' } }, 'constraint.schema.format', /format "hostname" is not supported/],
    [{ type: 'json_schema', schema: { oneOf: [{ type: 'integer' }, { type: 'number' }] } }, 'constraint.schema.oneOf', /can match the same value/],
    [{ type: 'json_schema', schema: { $ref: '#/$defs/missing' } }, 'constraint.schema.$ref', /points at nothing/],
    [{ type: 'json_schema', schema: { type: 'integer', minimum: 5, maximum: 4 } }, 'constraint.schema', /no whole number/],
    [{ type: 'regex', pattern: '(a)\\1' }, 'constraint.pattern', /backreferences/],
    [{ type: 'regex', pattern: 'a(?=b)' }, 'constraint.pattern', /lookaround/],
    [{ type: 'choice', choices: [] }, 'constraint.choices', /non-empty/],
  ];
  const base = { requestId: 'r', promptTokens: [1, 2, 3], sampling: samplingParams() };
  for (const [constraint, param, message] of cases) {
    try {
      engine.generate({ ...base, constraint });
      assert.unreachable(`accepted ${JSON.stringify(constraint)}`);
    } catch (error) {
      assert.instance(error, EngineError);
      assert.equal([(error as EngineError).code, (error as EngineError).param], ['INVALID_ARGUMENT', param], JSON.stringify(constraint));
      assert.match((error as EngineError).message, message);
    }
  }
  assert.throws(() => engine.generate({ ...base, ignoreEos: true, constraint: { type: 'json_object' } }), /ignore_eos cannot be combined/);
});

test.run();
