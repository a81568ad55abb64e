// Vision input for Qwen2.5-VL: image bytes → RGB → patches, prompt pad expansion, M-RoPE positions.
export { VisionInputError } from './errors.ts';
export type { PreparedImage, RgbImage } from './types.ts';
export { loadImageProcessorConfig, qwen25VlImageProcessor, PREPROCESSOR_CONFIG_FILE, type ImageProcessorConfig } from './config.ts';
export { decodeImage, sniffImageFormat, DEFAULT_MAX_DECODED_PIXELS, type DecodeOptions, type ImageFormat } from './decode.ts';
export { smartResize } from './smart-resize.ts';
export { resizeBicubic } from './resize.ts';
export { preprocessImage } from './preprocess.ts';
export { expandImagePads, mropePositions, type VisionTokenIds } from './prompt-tokens.ts';
export { resolveImageUrl, DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MEDIA_TIMEOUT_MS, type MediaPolicy } from './resolve-url.ts';
