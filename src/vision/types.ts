// Shapes shared by the vision input pipeline and its consumers (server, engine).

/** An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B. */
export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes. */
  data: Uint8Array;
}

/** One image ready for the vision tower, in Hugging Face's Qwen2-VL patch order. */
export interface PreparedImage {
  /** [numPatches, channels × temporalPatch × patch × patch] (1176 for Qwen2.5-VL), row-major. */
  pixelValues: Float32Array;
  /** Patch grid (t, h, w), before the spatial merge. */
  gridThw: [number, number, number];
  /** `<|image_pad|>` tokens this image takes in the prompt: t·h·w / merge². */
  tokenCount: number;
}
