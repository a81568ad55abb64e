// The engine's public entry point.
export { Tokenizer, IncrementalDecoder } from './tokenizer/index.ts';
export type { ChatMessage, ChatContentPart, ChatTemplateOptions, EncodeOptions, DecodeOptions } from './tokenizer/index.ts';
