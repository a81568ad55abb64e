// A constraint the engine cannot enforce exactly: an unsupported JSON Schema keyword or regex
// feature, or one too large to compile. `path` locates it inside the constraint (dotted, ''
// for the root), so the server can name the request field at fault.
export class ConstraintError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConstraintError';
  }
}

/** `path` extended by one key or index. */
export function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}
