#!/usr/bin/env bash
# Configures and builds Sori into build/ (Release, Ninja when present, ccache when present).
# Extra arguments go to cmake's configure step, e.g. -DCMAKE_PREFIX_PATH=... for another LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && [ ! -f build/CMakeCache.txt ] && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build --parallel "$(nproc)"
