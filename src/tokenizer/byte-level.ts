// GPT-2's byte-level alphabet: every byte is shown as a printable character in vocab strings.

/** Character code of the vocab character that stands for each byte. */
export const BYTE_TO_CHAR: readonly number[] = (() => {
  const chars = new Array<number>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = printable ? b : next++;
  }
  return chars;
})();

/** The byte behind each vocab character code, -1 for characters outside the alphabet. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const bytes = new Int16Array(324).fill(-1);
  BYTE_TO_CHAR.forEach((char, byte) => (bytes[char] = byte));
  return bytes;
})();

/** Writes the bytes behind a byte-level string into out at offset; returns the count, or -1 if
 * some character is outside the alphabet. out needs room for token.length bytes. */
export function byteLevelDecodeInto(token: string, out: Uint8Array, offset: number): number {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const byte = code < 324 ? CHAR_TO_BYTE[code] : -1;
    if (byte < 0) return -1;
    out[offset + i] = byte;
  }
  return token.length;
}

/** The byte-level string that stands for bytes (how vocab files spell a token). */
export function byteLevelEncode(bytes: Uint8Array): string {
  let token = '';
  for (const byte of bytes) token += String.fromCharCode(BYTE_TO_CHAR[byte]);
  return token;
}
