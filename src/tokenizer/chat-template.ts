// Renders a model's own Jinja chat template (tokenizer_config.json) like transformers does.
import { Template } from '@huggingface/jinja';

export type ChatContentPart = { type: 'text'; text: string } | { type: string; [k: string]: unknown };
export type ChatMessage = { role: string; content: string | ChatContentPart[]; [k: string]: unknown };

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  [kwarg: string]: unknown;
}

/** Picks the template: a string, or the "default" entry of a list of named templates. */
export function readChatTemplate(config: Record<string, unknown>): string | undefined {
  const template = config.chat_template;
  if (template == null) return undefined;
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const named = template.find((t) => t?.name === 'default') ?? template[0];
    if (typeof named?.template === 'string') return named.template;
  }
  throw new Error('tokenizer_config.json: chat_template must be a string or a list of {name, template}');
}

// Text-only templates (Qwen3, Llama-3) concatenate message.content as a string, so an array of
// text parts is joined; an array with other parts is left for a template that iterates parts.
function normalizeContent(message: ChatMessage, index: number): ChatMessage {
  if (typeof message?.role !== 'string') throw new Error(`messages[${index}].role must be a string`);
  const { content } = message;
  if (typeof content === 'string' || content == null) return message;
  if (!Array.isArray(content)) throw new Error(`messages[${index}].content must be a string or an array of parts`);
  if (!content.every((part) => part?.type === 'text' && typeof part.text === 'string')) return message;
  return { ...message, content: content.map((part) => part.text as string).join('') };
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    source: string,
    private readonly specialTokens: Record<string, string | undefined>,
  ) {
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new Error(`chat template does not parse: ${(error as Error).message}`);
    }
  }

  render(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!Array.isArray(messages)) throw new Error('messages must be an array');
    const { addGenerationPrompt = false, ...kwargs } = options;
    try {
      return this.template.render({
        ...this.specialTokens,
        ...kwargs,
        messages: messages.map(normalizeContent),
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (error) {
      throw new Error(`chat template failed: ${(error as Error).message}`);
    }
  }
}
