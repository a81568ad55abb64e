export { Tokenizer, type EncodeOptions, type DecodeOptions } from './tokenizer.ts';
export { IncrementalDecoder } from './incremental_decoder.ts';
export type { ChatMessage, ChatContentPart, ChatTemplateOptions } from './chat_template.ts';
