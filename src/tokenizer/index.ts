export { Tokenizer, type EncodeOptions, type DecodeOptions } from './tokenizer.ts';
export { IncrementalDecoder } from './incremental-decoder.ts';
export type { ChatMessage, ChatContentPart, ChatTemplateOptions } from './chat-template.ts';
