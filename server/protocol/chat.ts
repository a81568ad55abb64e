// POST /v1/chat/completions request schema (docs/API.md "Chat and completions requests").
import { z } from 'zod';
import {
  compileConstraint,
  ConstraintError,
  MAX_TOP_LOGPROBS,
  type ConstraintSpec,
  type GenerationRequest,
  type SamplingParams,
  type ToolCallSyntax,
} from '../../src/index.ts';
import { ApiError, fromZodError, renameParam } from '../errors.ts';
import { bool, intAtLeast, intBetween, orNull } from './fields.ts';
import { checkBeamCandidates, checkGeneration, generationFields, toGenerationRequest } from './generation.ts';

const textPart = z.strictObject({ type: z.literal('text'), text: z.string({ error: 'text must be a string' }) });
const imagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z.string({ error: 'image_url.url must be a string' }),
    // OpenAI's resolution hint; images are always taken at the model's own resolution.
    detail: z.literal('auto', { error: 'image_url.detail: only "auto" is supported (images are taken at the model\'s own resolution)' }).nullish(),
  }),
});
const contentPart = z.discriminatedUnion('type', [textPart, imagePart], {
  error: 'content parts must be {"type":"text","text":…} or {"type":"image_url","image_url":{"url":…}}',
});

/** A call an assistant message made (sent back in later turns). */
const toolCall = z.strictObject({
  id: z.string({ error: 'tool_calls[].id must be a string' }),
  type: z.literal('function', { error: 'tool_calls[].type must be function' }),
  function: z.strictObject({ name: z.string({ error: 'tool_calls[].function.name must be a string' }), arguments: z.string({ error: 'tool_calls[].function.arguments must be a JSON string' }) }),
});

const message = z
  .strictObject({
    role: z.enum(['system', 'user', 'assistant', 'tool'], { error: 'role must be one of system, user, assistant, tool' }),
    content: z.union([z.string(), z.array(contentPart)], { error: 'content must be a string or an array of parts' }).nullish(),
    name: z.string().nullish(),
    tool_calls: z.array(toolCall, { error: 'tool_calls must be an array of calls' }).nullish(),
    tool_call_id: z.string({ error: 'tool_call_id must be a string' }).nullish(),
    reasoning_content: z.string({ error: 'reasoning_content must be a string' }).nullish(),
  })
  .superRefine((msg, ctx) => {
    if (msg.content == null && !(msg.role === 'assistant' && msg.tool_calls?.length)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'content is required (only an assistant message with tool_calls may leave it out)' });
    }
    if (msg.tool_calls != null && msg.role !== 'assistant') ctx.addIssue({ code: 'custom', path: ['tool_calls'], message: 'only assistant messages carry tool_calls' });
  });

export type ChatMessage = z.infer<typeof message>;

const toolName = z.string({ error: 'the function name must be a string' }).regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'function names are 1-64 letters, digits, _ . or -');
const tool = z.strictObject(
  {
    type: z.literal('function', { error: 'tools[].type must be function' }),
    function: z.strictObject({
      name: toolName,
      description: z.string().nullish(),
      parameters: z.record(z.string(), z.unknown(), { error: 'parameters must be a JSON Schema object' }).nullish(),
      // Calls that tool_choice requires always follow the parameters: strict or not changes nothing.
      strict: z.boolean().nullish(),
    }),
  },
  { error: 'tools must be {"type": "function", "function": {name, description?, parameters?}} objects' },
);
const toolChoice = z.union(
  [z.enum(['none', 'auto', 'required']), z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: toolName }) })],
  { error: 'tool_choice must be none, auto, required or {"type": "function", "function": {"name": …}}' },
);

export const chatRequestSchema = z
  .strictObject({
    ...generationFields,
    messages: z.array(message, { error: 'messages must be an array of messages' }).min(1, 'messages must not be empty'),
    max_completion_tokens: intAtLeast('max_completion_tokens', 1).nullish(),
    logprobs: bool('logprobs').nullish(),
    top_logprobs: intBetween('top_logprobs', 0, MAX_TOP_LOGPROBS).nullish(),
    chat_template_kwargs: z.record(z.string(), z.unknown(), { error: 'chat_template_kwargs must be an object' }).nullish(),
    tools: z.array(tool, { error: 'tools must be an array of function tools' }).max(128, 'tools holds at most 128 tools').nullish(),
    tool_choice: toolChoice.nullish(),
    parallel_tool_calls: bool('parallel_tool_calls').nullish(),
  })
  .superRefine((body, ctx) => {
    checkGeneration(body, ctx);
    const beam = (body.beam_width ?? 1) > 1;
    if (body.top_logprobs != null && body.logprobs !== true && !beam) {
      ctx.addIssue({ code: 'custom', path: ['top_logprobs'], message: 'top_logprobs requires logprobs to be true' });
    }
    checkBeamCandidates(body, 'top_logprobs', body.top_logprobs, ctx);
    const names = (body.tools ?? []).map((t) => t.function.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) ctx.addIssue({ code: 'custom', path: ['tools'], message: `two tools are named ${duplicate}` });
    const choice = body.tool_choice;
    if (choice != null && choice !== 'none' && names.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'tool_choice needs tools' });
    }
    if (typeof choice === 'object' && choice !== null && !names.includes(choice.function.name)) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice', 'function', 'name'], message: `tool_choice names ${choice.function.name}, which is not among the tools` });
    }
  });

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/**
 * Another API's request mapped onto chat fields, checked by the chat schema like any chat
 * request; an error names the field as that API calls it (`rename`).
 */
export function parseAsChat(chat: object, rename: (param: string) => string): ChatRequest {
  const parsed = chatRequestSchema.safeParse(chat);
  if (!parsed.success) throw renameParam(fromZodError(parsed.error), rename);
  return parsed.data;
}

/** How the server's model family writes tool calls (undefined: it has no format), and whether tool_choice "auto" is on. */
export interface ToolSettings {
  syntax: ToolCallSyntax | undefined;
  auto: boolean;
}

export function chatGenerationRequest(
  body: ChatRequest,
  defaults: Partial<SamplingParams>,
  tools: ToolSettings,
): Omit<GenerationRequest, 'requestId' | 'promptTokens'> {
  // Per-token logprobs only when asked for, with beam search as without it (and as on
  // completions); top_logprobs alone still sets the beam candidates.
  const request = toGenerationRequest(body, orNull(body.max_completion_tokens ?? body.max_tokens), {
    logprobs: body.logprobs === true ? (body.top_logprobs ?? 0) : undefined,
    beamCandidates: orNull(body.top_logprobs),
  }, defaults);
  const calls = requiredToolCalls(body, tools);
  if (!calls) return request;
  if (request.constraint) throw new ApiError(400, 'INVALID_ARGUMENT', 'a required tool call cannot be combined with structured output', 'tool_choice');
  return { ...request, constraint: calls };
}

/** The tool_choice in effect: OpenAI's default is auto with tools, none without. */
export function toolChoiceOf(body: ChatRequest): 'none' | 'auto' | 'required' | { name: string } {
  const choice = body.tool_choice ?? (body.tools?.length ? 'auto' : 'none');
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

/**
 * tool_choice "required" (one or more calls of any tool; one with parallel_tool_calls false)
 * or a named function (one call of it) as a constraint, so every call is well-formed and its
 * arguments validate against the function's parameters. Undefined when the model chooses.
 */
function requiredToolCalls(body: ChatRequest, settings: ToolSettings): ConstraintSpec | undefined {
  const choice = toolChoiceOf(body);
  if (choice === 'auto' && !settings.auto) {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'tool_choice "auto" is off on this server (start it with --enable-auto-tool-choice)', 'tool_choice');
  }
  if (choice === 'none' || choice === 'auto') return undefined;
  const tools = body.tools!;
  const chosen = choice === 'required' ? tools.map((_, i) => i) : [tools.findIndex((t) => t.function.name === choice.name)];
  const spec: ConstraintSpec = {
    type: 'tool_calls',
    syntax: settings.syntax!,
    tools: chosen.map((i) => ({ name: tools[i].function.name, ...(tools[i].function.parameters ? { parameters: tools[i].function.parameters } : {}) })),
    parallel: choice === 'required' && body.parallel_tool_calls !== false,
  };
  try {
    compileConstraint(spec);
  } catch (error) {
    if (!(error instanceof ConstraintError)) throw error;
    // tools[k].parameters… of the chosen tools → tools[i].function.parameters… of the request.
    const param = error.path.replace(/^tools\[(\d+)\]\.parameters/, (_, k: string) => `tools[${chosen[Number(k)]}].function.parameters`);
    throw new ApiError(400, 'INVALID_ARGUMENT', `${param}: ${error.message}`, param);
  }
  return spec;
}

export interface ImageUrlPart {
  url: string;
  /** Where the part sits in the request, for error messages: `messages[1].content[0]`. */
  param: string;
}

/** The image parts of all messages, in prompt order (the order of the template's placeholders). */
export function imageUrlParts(messages: readonly ChatMessage[]): ImageUrlPart[] {
  return messages.flatMap((msg, i) =>
    typeof msg.content === 'string' || msg.content == null
      ? []
      : msg.content.flatMap((part, j) => (part.type === 'image_url' ? [{ url: part.image_url.url, param: `messages[${i}].content[${j}]` }] : [])),
  );
}

/** Where images are not taken: the llm backend, and every endpoint but chat on the vlm backend. */
export function checkTextOnly(msg: ChatMessage, index: number): void {
  if (typeof msg.content === 'string' || msg.content == null) return;
  const image = msg.content.findIndex((part) => part.type !== 'text');
  if (image >= 0) {
    throw new ApiError(
      400,
      'INVALID_ARGUMENT',
      'image input is taken only by /v1/chat/completions on the vlm backend (--backend vlm)',
      `messages[${index}].content[${image}]`,
    );
  }
}
