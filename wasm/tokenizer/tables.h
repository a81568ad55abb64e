// tokenizer.json's big tables, model.vocab and model.merges, read straight from the file's UTF-8
// text into packed byte-level form (no per-token strings on the JS side). The whole file's JSON
// grammar is checked on the way; everything else in it is left for JS to parse.
#ifndef XL_TABLES_H
#define XL_TABLES_H
#include <stdint.h>

typedef struct xl_tables xl_tables;

// The first bad table entry, reported after the JSON grammar (which stops reading at once).
enum {
  XL_PROBLEM_NONE = 0,
  XL_PROBLEM_VOCAB_ID = 1,              // the value is not a non-negative integer (span: the key)
  XL_PROBLEM_VOCAB_NOT_BYTE_LEVEL = 2,  // span: the key
  XL_PROBLEM_VOCAB_ID_TWICE = 3,        // number: the id
  XL_PROBLEM_VOCAB_ID_TOO_LARGE = 4,    // span: the key; number: XL_MAX_VOCAB_ID
  XL_PROBLEM_MERGE = 5,                 // not "a b" or [a, b] of byte-level tokens; span: the entry, number: its rank
};

#define XL_MAX_VOCAB_ID ((1 << 24) - 1)

// What xl_tables_read writes to report[XL_REPORT_SIZE]; spans are byte offsets [start, end) into
// the text, -1 when absent. Vocab id i has bytes[offsets[i] .. offsets[i + 1]) and present[i] = 1
// when the vocab has it. Merge rules are laid out as xl_tok_set_merges takes them.
enum {
  XL_REPORT_JSON_ERROR, XL_REPORT_JSON_ERROR_AT,  // XL_JSON_* and where
  XL_REPORT_PROBLEM, XL_REPORT_PROBLEM_START, XL_REPORT_PROBLEM_END, XL_REPORT_PROBLEM_NUMBER,
  XL_REPORT_VOCAB_START, XL_REPORT_VOCAB_END, XL_REPORT_MERGES_START, XL_REPORT_MERGES_END,
  XL_REPORT_VOCAB_COUNT, XL_REPORT_VOCAB_BYTES, XL_REPORT_VOCAB_OFFSETS, XL_REPORT_VOCAB_PRESENT,
  XL_REPORT_MERGE_COUNT, XL_REPORT_MERGE_BYTES, XL_REPORT_MERGE_OFFSETS,
  XL_REPORT_SIZE
};

// Reads the top-level object's model.vocab (when an object) and model.merges (when an array).
// Returns NULL only when out of memory; the tables stay valid until xl_tables_free.
xl_tables *xl_tables_read(const uint8_t *text, int32_t len, int32_t *report);
void xl_tables_free(xl_tables *tables);

#endif
