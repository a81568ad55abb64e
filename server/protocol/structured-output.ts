// Structured output fields of chat and completions (docs/API.md "Structured output"): OpenAI's
// `response_format`, vLLM's `structured_outputs` and its older `guided_json`, `guided_regex`,
// `guided_choice`. At most one of them; each becomes the engine's ConstraintSpec, compiled
// here so that what cannot be enforced is a 400 naming the request field it came from.
import { z } from 'zod';
import { compileConstraint, ConstraintError, type ConstraintSpec } from '../../src/index.ts';
import { ApiError } from '../errors.ts';

const schemaObject = (name: string) =>
  z.union([z.record(z.string(), z.unknown()), z.boolean()], { error: `${name} must be a JSON Schema (an object or a boolean)` });
/** vLLM takes a schema as an object or as its JSON text. */
const schemaOrText = (name: string) =>
  z.union([z.record(z.string(), z.unknown()), z.string()], { error: `${name} must be a JSON Schema, as an object or as JSON text` });
const choices = (name: string) => z.array(z.string(), { error: `${name} must be an array of strings` }).min(1, `${name} must not be empty`);

export const structuredOutputFields = {
  response_format: z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('text') }),
        z.strictObject({ type: z.literal('json_object') }),
        z.strictObject({
          type: z.literal('json_schema'),
          json_schema: z.strictObject(
            {
              name: z.string({ error: 'response_format.json_schema.name must be a string' }).regex(/^[\w-]{1,64}$/, 'response_format.json_schema.name must be 1-64 letters, digits, _ or -'),
              description: z.string().nullish(),
              schema: schemaObject('response_format.json_schema.schema').nullish(),
              // The output always follows the schema exactly: strict or not changes nothing.
              strict: z.boolean().nullish(),
            },
            { error: 'response_format.json_schema must be {name, schema, strict?}' },
          ),
        }),
      ],
      { error: 'response_format.type must be one of text, json_object, json_schema' },
    )
    .nullish(),
  structured_outputs: z
    .strictObject(
      {
        json: schemaOrText('structured_outputs.json').nullish(),
        json_object: z.boolean({ error: 'structured_outputs.json_object must be a boolean' }).nullish(),
        regex: z.string({ error: 'structured_outputs.regex must be a string' }).nullish(),
        choice: choices('structured_outputs.choice').nullish(),
      },
      { error: 'structured_outputs must be an object with one of json, json_object, regex, choice' },
    )
    .nullish(),
  guided_json: schemaOrText('guided_json').nullish(),
  guided_regex: z.string({ error: 'guided_regex must be a string' }).nullish(),
  guided_choice: choices('guided_choice').nullish(),
};

type StructuredOutputFields = z.infer<z.ZodObject<typeof structuredOutputFields>>;

/** The constraint a request asks for and the request field (the prefix for `param`) it came from. */
interface Requested {
  spec: ConstraintSpec;
  field: string;
}

function parseSchemaText(value: unknown, field: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ApiError(400, 'INVALID_ARGUMENT', `${field} is not valid JSON`, field);
  }
}

function requested(body: StructuredOutputFields): Requested[] {
  const found: Requested[] = [];
  const format = body.response_format;
  if (format?.type === 'json_object') found.push({ spec: { type: 'json_object' }, field: 'response_format' });
  if (format?.type === 'json_schema') {
    const schema = format.json_schema.schema ?? {};
    found.push({ spec: { type: 'json_schema', schema }, field: 'response_format.json_schema' });
  }
  const so = body.structured_outputs;
  if (so) {
    const given = (['json', 'json_object', 'regex', 'choice'] as const).filter((k) => so[k] != null && so[k] !== false);
    if (given.length !== 1) throw new ApiError(400, 'INVALID_ARGUMENT', 'structured_outputs must hold exactly one of json, json_object, regex, choice', 'structured_outputs');
    if (so.json != null) found.push({ spec: { type: 'json_schema', schema: parseSchemaText(so.json, 'structured_outputs.json') }, field: 'structured_outputs.json' });
    if (so.json_object) found.push({ spec: { type: 'json_object' }, field: 'structured_outputs.json_object' });
    if (so.regex != null) found.push({ spec: { type: 'regex', pattern: so.regex }, field: 'structured_outputs.regex' });
    if (so.choice != null) found.push({ spec: { type: 'choice', choices: so.choice }, field: 'structured_outputs.choice' });
  }
  if (body.guided_json != null) found.push({ spec: { type: 'json_schema', schema: parseSchemaText(body.guided_json, 'guided_json') }, field: 'guided_json' });
  if (body.guided_regex != null) found.push({ spec: { type: 'regex', pattern: body.guided_regex }, field: 'guided_regex' });
  if (body.guided_choice != null) found.push({ spec: { type: 'choice', choices: body.guided_choice }, field: 'guided_choice' });
  return found;
}

/**
 * The request's constraint, compiled, or undefined for plain text. Two constraint fields, or
 * one that cannot be enforced exactly, are a 400 naming the field (and inside a schema, the
 * keyword: `response_format.json_schema.schema.properties.age.multipleOf`).
 */
export function structuredOutput(body: StructuredOutputFields): ConstraintSpec | undefined {
  const found = requested(body);
  if (found.length === 0) return undefined;
  if (found.length > 1) throw new ApiError(400, 'INVALID_ARGUMENT', `${found[1].field} cannot be combined with ${found[0].field}: ask for one structured output`, found[1].field);
  const { spec, field } = found[0];
  try {
    compileConstraint(spec);
  } catch (error) {
    if (!(error instanceof ConstraintError)) throw error;
    // The constraint's own path starts with schema, pattern or choices, which the field already
    // names, except in response_format.json_schema, whose schema is one of its members.
    const inside = error.path.replace(/^(schema|pattern|choices)/, '');
    const param = field === 'response_format.json_schema' && error.path ? `${field}.${error.path}` : `${field}${inside}`;
    throw new ApiError(400, 'INVALID_ARGUMENT', `${param}: ${error.message}`, param);
  }
  return spec;
}
