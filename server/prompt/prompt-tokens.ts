// Prompt tokens shared by the generation and tokenize endpoints: the chat template's rendering,
// and the checks a prompt passes before it reaches the engine.
import type { InferenceEngine } from '../../src/index.ts';
import { ApiError } from '../errors.ts';
import { checkTextOnly, type ChatMessage } from '../protocol/chat.ts';

/** The fields of a chat request that make its prompt. */
export interface ChatPromptFields {
  messages: readonly ChatMessage[];
  chat_template_kwargs?: Record<string, unknown> | null;
  add_special_tokens?: boolean | null;
  /** Tools the template shows the model (left out with tool_choice "none"). */
  tools?: readonly unknown[] | null;
}

/**
 * The chat template's rendering of `messages`. With `images`, image parts stay in: the
 * template writes `<|vision_start|><|image_pad|><|vision_end|>` for each.
 */
export function chatPromptText(engine: InferenceEngine, body: ChatPromptFields, images = false): string {
  if (!images) body.messages.forEach(checkTextOnly);
  // Templates read content as a string: an assistant turn that only called tools has ''.
  const messages = body.messages.map((m) => ({ ...m, content: m.content ?? '' }));
  const tools = body.tools?.length ? { tools: body.tools } : {};
  try {
    return engine.tokenizer.applyChatTemplate(messages, { ...body.chat_template_kwargs, ...tools, addGenerationPrompt: true });
  } catch (error) {
    // The template's own checks (roles must alternate, …) are the client's to fix.
    const reason = error instanceof Error ? error.message : 'unknown error';
    throw new ApiError(400, 'INVALID_ARGUMENT', `The chat template rejected the messages: ${reason}`, 'messages');
  }
}

/**
 * The token ids of a chat prompt, ready for generation (special tokens are the template's own
 * unless add_special_tokens asks for more).
 */
export function chatPromptTokens(engine: InferenceEngine, body: ChatPromptFields, images = false): number[] {
  return encodePrompt(engine, chatPromptText(engine, body, images), body.add_special_tokens ?? false, 'messages');
}

/**
 * Encodes a prompt for generation. A text that no tokenization could fit into the context is
 * refused before encoding: megabytes of one repeated letter take seconds to encode, which
 * would stall every stream on the server.
 */
export function encodePrompt(engine: InferenceEngine, text: string, addSpecialTokens: boolean, param: string, maxTokens = engine.maxModelLen - 1): number[] {
  const atLeast = engine.tokenizer.minTokenCount(text);
  if (atLeast > maxTokens) {
    throw new ApiError(400, 'INVALID_ARGUMENT', `The prompt is too long: at least ${atLeast} tokens, and this model takes at most ${maxTokens} prompt tokens.`, param);
  }
  return engine.tokenizer.encode(text, { addSpecialTokens });
}

/**
 * Rejects prompts the engine could not take, naming the field they came from. A generation
 * prompt leaves room for one token; an embedding input may fill the context (`maxTokens`).
 */
export function checkPromptLength(engine: InferenceEngine, tokens: readonly number[], param: string, maxTokens = engine.maxModelLen - 1): void {
  if (tokens.length === 0) throw new ApiError(400, 'INVALID_ARGUMENT', `${param} is empty after tokenization`, param);
  if (tokens.length > maxTokens) {
    throw new ApiError(400, 'INVALID_ARGUMENT', `The prompt is too long: ${tokens.length} tokens, and this model takes at most ${maxTokens} prompt tokens.`, param);
  }
}

/** Token ids must name tokens the tokenizer knows: it decodes them (`echo`, /detokenize). */
export function checkTokenIds(engine: InferenceEngine, tokens: readonly number[], param: string): void {
  const bad = tokens.findIndex((id) => !engine.tokenizer.hasId(id));
  if (bad >= 0) {
    throw new ApiError(400, 'INVALID_ARGUMENT', `token id ${tokens[bad]} is outside the vocabulary (0..${engine.tokenizer.vocabSize - 1})`, `${param}[${bad}]`);
  }
}
