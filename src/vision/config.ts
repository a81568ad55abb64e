// The image processor's settings, read from a model's `preprocessor_config.json` when it has
// one; the defaults are Qwen2.5-VL's.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export interface ImageProcessorConfig {
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
  /** Per channel (R, G, B), applied after rescaling to [0, 1]. */
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

export const PREPROCESSOR_CONFIG_FILE = 'preprocessor_config.json';

export const qwen25VlImageProcessor: ImageProcessorConfig = {
  minPixels: 56 * 56,
  maxPixels: 28 * 28 * 1280,
  patchSize: 14,
  temporalPatchSize: 2,
  mergeSize: 2,
  // CLIP's statistics.
  imageMean: [0.48145466, 0.4578275, 0.40821073],
  imageStd: [0.26862954, 0.26130258, 0.27577711],
};

const positiveInt = z.number().int().positive();
const triple = z.tuple([z.number(), z.number(), z.number()]);

// Hugging Face's keys; `size.{shortest,longest}_edge` is the newer spelling of min/max_pixels.
const fileSchema = z.object({
  min_pixels: positiveInt.optional(),
  max_pixels: positiveInt.optional(),
  size: z.object({ shortest_edge: positiveInt.optional(), longest_edge: positiveInt.optional() }).optional(),
  patch_size: positiveInt.optional(),
  temporal_patch_size: positiveInt.optional(),
  merge_size: positiveInt.optional(),
  image_mean: triple.optional(),
  image_std: triple.refine((std) => std.every((s) => s > 0), 'image_std must be positive').optional(),
});

/** The model's processor settings; Qwen2.5-VL's defaults fill what the file leaves out. */
export function loadImageProcessorConfig(modelDir: string): ImageProcessorConfig {
  const path = join(modelDir, PREPROCESSOR_CONFIG_FILE);
  if (!existsSync(path)) return { ...qwen25VlImageProcessor };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  const file = parsed.data;
  const d = qwen25VlImageProcessor;
  const config: ImageProcessorConfig = {
    minPixels: file.min_pixels ?? file.size?.shortest_edge ?? d.minPixels,
    maxPixels: file.max_pixels ?? file.size?.longest_edge ?? d.maxPixels,
    patchSize: file.patch_size ?? d.patchSize,
    temporalPatchSize: file.temporal_patch_size ?? d.temporalPatchSize,
    mergeSize: file.merge_size ?? d.mergeSize,
    imageMean: file.image_mean ?? d.imageMean,
    imageStd: file.image_std ?? d.imageStd,
  };
  if (config.minPixels > config.maxPixels) throw new Error(`${path}: min_pixels ${config.minPixels} exceeds max_pixels ${config.maxPixels}`);
  return config;
}
