#!/usr/bin/env bash
# Builds every C unit under wasm/<unit>/ into wasm/build/<unit>.wasm with Debian's
# emscripten. A unit is a folder holding exports.txt (one C function name a line).
# The output is committed; CI rebuilds it and fails if the bytes differ.
set -euo pipefail
cd "$(dirname "$0")"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"   # Debian's emcc needs it

command -v emcc >/dev/null || { echo "build.sh: emcc not found (apt-get install emscripten)" >&2; exit 1; }
mkdir -p wasm/build
for dir in wasm/*/; do
  unit=$(basename "$dir")
  [ -f "$dir/exports.txt" ] || continue
  exports=$(grep -Ev '^\s*(#|$)' "$dir/exports.txt" | sed 's/^/_/' | paste -sd, -)
  # Relative paths and fixed flags keep the bytes identical from any checkout.
  emcc -O3 -msimd128 -std=c11 -Wall -Wextra -Werror \
    --no-entry -s STANDALONE_WASM=1 -s ALLOW_MEMORY_GROWTH=1 \
    -s INITIAL_MEMORY=16MB -s MAXIMUM_MEMORY=4GB -s TOTAL_STACK=1MB \
    -s ERROR_ON_UNDEFINED_SYMBOLS=1 \
    -s "EXPORTED_FUNCTIONS=_malloc,_free,$exports" \
    -I "$dir" "$dir"*.c -o "wasm/build/$unit.wasm"
  echo "built wasm/build/$unit.wasm ($(wc -c < "wasm/build/$unit.wasm") bytes)"
done
