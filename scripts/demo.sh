#!/usr/bin/env bash
# The demo: installs what is missing, builds, synthesises the demo corpora and checks them.
# (Training, evaluation and export join here as the trainer and exporter land.)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
./scripts/build.sh
if [ ! -f data/manifests/demo_en_train.jsonl ] || [ ! -f data/manifests/demo_ko_test.jsonl ]; then
  ./scripts/make_demo_data.sh
fi
build/sori data check --config configs/demo_en.yaml
build/sori data check --config configs/demo_ko.yaml
