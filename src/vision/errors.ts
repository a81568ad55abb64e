// The one error type for bad image input (undecodable bytes, refused URL, image too large):
// the client's to fix, so the server answers it as INVALID_ARGUMENT.
export class VisionInputError extends Error {
  override name = 'VisionInputError';
}
