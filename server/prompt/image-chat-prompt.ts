// The prompt of a vlm chat request: the chat template rendered with its image parts, the
// images fetched and preprocessed, and each image's one `<|image_pad|>` expanded to the
// tokens the image takes (the engine receives the prompt as the model sees it).
import { VisionInputError, expandImagePads, type InferenceEngine, type PreparedImage, type VisionInfo } from '../../src/index.ts';
import type { ServerConfig } from '../config.ts';
import { ApiError } from '../errors.ts';
import { chatPromptTokens, type ChatPromptFields } from './prompt-tokens.ts';
import { mediaPolicy, prepareChatImages } from '../media/chat-images.ts';

export async function imageChatPrompt(
  engine: InferenceEngine,
  vision: VisionInfo,
  config: ServerConfig,
  body: ChatPromptFields,
): Promise<{ tokens: number[]; images: PreparedImage[] }> {
  // The template's checks come first: they cost nothing, fetching images may.
  const placeholders = chatPromptTokens(engine, body, true);
  const images = await prepareChatImages(body.messages, {
    policy: mediaPolicy(config),
    limitImagePerPrompt: config.limitImagePerPrompt,
    processor: vision.processor,
  });
  try {
    return { tokens: expandImagePads(placeholders, images, vision.tokens.imagePad), images };
  } catch (error) {
    // Message text that spells out image tokens itself puts the placeholders out of step.
    if (error instanceof VisionInputError) throw new ApiError(400, 'INVALID_ARGUMENT', `messages: ${error.message}`, 'messages');
    throw error;
  }
}
