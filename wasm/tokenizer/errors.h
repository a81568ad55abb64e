// Error codes returned (negated sizes aside) by the tokenizer's C API.
#ifndef XL_ERRORS_H
#define XL_ERRORS_H

enum {
  XL_ERR_NO_MEMORY = -1000,
  XL_ERR_DUPLICATE_TOKEN = -1001,
  XL_ERR_MISSING_BYTE_TOKEN = -1003,
  XL_ERR_BAD_ARGUMENT = -1004,
  XL_ERR_UNKNOWN_MERGE_TOKEN = -1005,
};

#endif
