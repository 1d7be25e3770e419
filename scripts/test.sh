#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
./scripts/build.sh
# ONNX Runtime for the export parity tests, pinned by tests/export/package-lock.json. Its
# install script would download GPU binaries from a host we cannot reach, hence --ignore-scripts.
if [ ! -d tests/export/node_modules/onnxruntime-node ]; then
  (cd tests/export && npm ci --ignore-scripts --no-audit --no-fund)
fi
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 900
