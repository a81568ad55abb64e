// Compressed image bytes → 8-bit RGB. Only JPEG, PNG, WebP and GIF (first frame) are accepted,
// recognised by their signature before any decoder sees the bytes (an SVG, say, is never
// parsed: it could reference other files). Transparent pixels are flattened onto white, as
// vLLM and Qwen's own utilities do, rather than left with whatever colour hides under alpha 0.
import sharp from 'sharp';
import { VisionInputError } from './errors.ts';
import type { RgbImage } from './types.ts';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';

export interface DecodeOptions {
  /** Largest width × height accepted, checked from the header before decoding (bomb guard). */
  maxPixels?: number;
}

/** 8192 × 8192: far above what the processor keeps (it downsizes to max_pixels). */
export const DEFAULT_MAX_DECODED_PIXELS = 8192 * 8192;

const WHITE = { r: 255, g: 255, b: 255 };

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const starts = (sig: readonly number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  if (starts([0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (starts([0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) return 'gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  return undefined;
}

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const format = sniffImageFormat(bytes);
  if (!format) throw new VisionInputError('unsupported image format: expected JPEG, PNG, WebP or GIF');
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_DECODED_PIXELS;
  // One frame only (GIF/WebP animations); libvips warnings (truncated data) count as errors.
  const open = (limitInputPixels: number | false) => sharp(bytes, { pages: 1, page: 0, failOn: 'warning', limitInputPixels });
  try {
    // The header alone, to name the size when refusing it.
    const meta = await open(false).metadata();
    if (meta.format !== format) throw new VisionInputError(`corrupt ${format} image: the decoder read it as ${meta.format}`);
    if (meta.width * meta.height > maxPixels) {
      throw new VisionInputError(`image is ${meta.width}x${meta.height} pixels, more than the limit of ${maxPixels}`);
    }
    const pipeline = meta.hasAlpha ? open(maxPixels).flatten({ background: WHITE }) : open(maxPixels);
    const { data, info } = await pipeline.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new VisionInputError(`corrupt ${format} image: decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    if (error instanceof VisionInputError) throw error;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new VisionInputError(`corrupt or unreadable ${format} image: ${reason}`);
  }
}
