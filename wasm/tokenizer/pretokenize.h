// Native implementations of the known byte-level split patterns (no regex engine).
#ifndef XL_PRETOKENIZE_H
#define XL_PRETOKENIZE_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
  XL_SPLIT_NONE = 0,   // the whole text is one piece
  XL_SPLIT_GPT2 = 1,   // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  XL_SPLIT_QWEN2 = 2,  // (?i:'s|…|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  XL_SPLIT_LLAMA3 = 3, // as QWEN2 with \p{N}{1,3}
} xl_split_pattern;

// End (exclusive) of the piece that starts at pos (pos < len); always > pos.
size_t xl_split_next(xl_split_pattern pattern, const uint8_t *s, size_t len, size_t pos);

#endif
