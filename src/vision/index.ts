// Vision input for Qwen2.5-VL: image bytes → RGB → patches, prompt pad expansion, M-RoPE positions.
export { VisionInputError } from './errors.ts';
export type { PreparedImage, RgbImage } from './types.ts';
export { loadImageProcessorConfig, type ImageProcessorConfig } from './config.ts';
export { decodeImage } from './decode.ts';
export { preprocessImage } from './preprocess.ts';
export { expandImagePads, mropePositions } from './prompt-tokens.ts';
export { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MEDIA_TIMEOUT_MS, resolveImageUrl, type MediaPolicy } from './resolve-url.ts';
