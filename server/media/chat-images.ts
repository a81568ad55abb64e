// The images of a vlm chat request, ready for the engine: count limit, URL policy, decode,
// Qwen2.5-VL preprocessing. Any bad image is a 400 naming the message part it came from.
import {
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MEDIA_TIMEOUT_MS,
  VisionInputError,
  decodeImage,
  preprocessImage,
  resolveImageUrl,
  type ImageProcessorConfig,
  type MediaPolicy,
  type PreparedImage,
} from '../../src/index.ts';
import type { ServerConfig } from '../config.ts';
import { ApiError } from '../errors.ts';
import { imageUrlParts, type ChatMessage } from '../protocol/chat.ts';

export function mediaPolicy(config: Pick<ServerConfig, 'allowedMediaDomains' | 'allowedLocalMediaPath'>): MediaPolicy {
  return {
    allowedDomains: config.allowedMediaDomains,
    allowedLocalPath: config.allowedLocalMediaPath,
    maxBytes: DEFAULT_MAX_IMAGE_BYTES,
    timeoutMs: DEFAULT_MEDIA_TIMEOUT_MS,
  };
}

export interface ChatImageOptions {
  policy: MediaPolicy;
  limitImagePerPrompt: number;
  processor: ImageProcessorConfig;
}

/** Every image of `messages`, in prompt order, fetched and decoded concurrently. */
export async function prepareChatImages(messages: readonly ChatMessage[], options: ChatImageOptions): Promise<PreparedImage[]> {
  const parts = imageUrlParts(messages);
  if (parts.length > options.limitImagePerPrompt) {
    throw new ApiError(
      400,
      'INVALID_ARGUMENT',
      `At most ${options.limitImagePerPrompt} images may be given per prompt, got ${parts.length} (--limit-image-per-prompt)`,
      parts[options.limitImagePerPrompt]!.param,
    );
  }
  return Promise.all(
    parts.map(async ({ url, param }) => {
      try {
        return await preprocessImage(await decodeImage(await resolveImageUrl(url, options.policy)), options.processor);
      } catch (error) {
        if (error instanceof VisionInputError) throw new ApiError(400, 'INVALID_ARGUMENT', `${param}: ${error.message}`, param);
        throw error;
      }
    }),
  );
}
