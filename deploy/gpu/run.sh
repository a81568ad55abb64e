#!/usr/bin/env bash
# The GPU machine's side of a GPU run, from the repository root of the working tree the device
# tool sent, with .gpu/ carried (deploy/gpu/bundle.sh made it): unpack Node.js and node_modules,
# bring the Vulkan loader if the machine lacks one, run deploy/gpu/check.ts (the engine on the
# GPU against the cpu, and its speed), then the transformers peer on the same checkpoint.
# Everything lands in $OUT (results.json, results.md, transformers.json, log.txt).
#   bash deploy/gpu/run.sh [--device webgpu|cuda|cpu] [--quick]
# On a machine without a GPU, `--device cpu --quick` rehearses every step but the speed.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/.gpu/out}
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1

tools=/tmp/xllm-gpu
mkdir -p "$tools/bin"
[ -x "$tools/bin/node" ] || xz -dc .gpu/node.xz > "$tools/bin/node"
chmod +x "$tools/bin/node"
export PATH="$tools/bin:$PATH"
[ -d node_modules/onnxruntime-node ] || xz -dc .gpu/node_modules.tar.xz | tar -x -C .
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for deb in .gpu/debs/*.deb; do dpkg -x "$deb" /; done
  ldconfig
fi
# Where the NVIDIA driver keeps its Vulkan ICD on these machines, when the loader does not find it.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export XLLM_CACHE_DIR=${XLLM_CACHE_DIR:-/tmp/xllm-cache}

echo "node $(node --version); $(nproc) cpus"
node --import tsx deploy/gpu/check.ts --out "$out" "$@"
status=$?
if [[ " $* " != *" --quick "* ]]; then
  if python3 -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null; then
    checkpoint=$(node --import tsx -e "import('./models/recipe.ts').then((r) => console.log(r.checkpointDir('bench-0.5b')))")
    PYTHONUNBUFFERED=1 python3 deploy/gpu/transformers_peer.py "$checkpoint" "$out/transformers.json" || status=1
  else
    echo "no torch with CUDA here: the transformers peer is skipped"
  fi
fi
exit $status
