#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
#   ./scripts/test.sh              Release build in build/
#   ./scripts/test.sh --sanitize   the same suite built with AddressSanitizer and
#                                  UndefinedBehaviorSanitizer in build-sanitize/ (LibTorch itself
#                                  is not instrumented; its one-time allocations are not leaks)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
[ "${1:-}" = "--sanitize" ] && sanitize=1
./scripts/install_deps.sh
# ONNX Runtime for the export parity tests, pinned by tests/export/package-lock.json. Its
# install script would download GPU binaries from a host we cannot reach, hence --ignore-scripts.
if [ ! -d tests/export/node_modules/onnxruntime-node ]; then
  (cd tests/export && npm ci --ignore-scripts --no-audit --no-fund)
fi
if [ "$sanitize" = 1 ]; then
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  generator=()
  command -v ninja >/dev/null && [ ! -f build-sanitize/CMakeCache.txt ] && generator=(-G Ninja)
  cmake -S . -B build-sanitize "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
  cmake --build build-sanitize --parallel "$(nproc)"
  export ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  cd build-sanitize
else
  ./scripts/build.sh
  cd build
fi
ctest --output-on-failure --parallel "$(nproc)" --timeout 900
