// Stop-string matching over UTF-8 bytes, for streaming: the first match to complete, or
// how much of the text is safe to emit because no stop string can still complete over it.
#include <string.h>

#include "sampler.h"

static int prefix_hold(const uint8_t *text, int len, const uint8_t *stop, int stop_len) {
  // Longest proper prefix of stop that is a suffix of text.
  const int longest = stop_len - 1 < len ? stop_len - 1 : len;
  for (int n = longest; n > 0; n--) {
    if (memcmp(text + len - n, stop, (size_t)n) == 0) return n;
  }
  return 0;
}

int xl_stop_scan(const uint8_t *text, int len, const uint8_t *stops, const int32_t *offsets, int n_stops,
                 int32_t *out) {
  if (len < 0 || n_stops < 0) return XL_ERR_BAD_ARG;
  for (int j = 0; j < n_stops; j++) {
    if (offsets[j + 1] <= offsets[j]) return XL_ERR_BAD_ARG; // empty stop strings match everywhere
  }
  // The first occurrence to complete wins (so a stream cut anywhere stops at the same
  // place); of those ending together, the longest, then the one listed first.
  for (int end = 1; end <= len; end++) {
    int best = -1, best_len = 0;
    for (int j = 0; j < n_stops; j++) {
      const int stop_len = offsets[j + 1] - offsets[j];
      if (stop_len > best_len && stop_len <= end && memcmp(text + end - stop_len, stops + offsets[j], (size_t)stop_len) == 0) {
        best = j;
        best_len = stop_len;
      }
    }
    if (best >= 0) {
      out[0] = end - best_len;
      out[1] = best;
      return 1;
    }
  }
  int hold = 0;
  for (int j = 0; j < n_stops; j++) {
    const int h = prefix_hold(text, len, stops + offsets[j], offsets[j + 1] - offsets[j]);
    if (h > hold) hold = h;
  }
  out[0] = len - hold;
  return 0;
}
