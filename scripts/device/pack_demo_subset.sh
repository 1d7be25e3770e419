#!/usr/bin/env bash
# Run here (Debian): copies a small slice of the demo data (N_TRAIN training, N_EVAL validation
# and test utterances, default 300 and 40) into device_data/, ignored by git, because the GPU
# machine has no speech synthesiser to make it. gpu_check.sh copies it into data/ there.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f data/manifests/demo_en_train.jsonl ] || { echo "no demo data: run ./scripts/make_demo_data.sh first" >&2; exit 1; }
rm -rf device_data && mkdir -p device_data/data/manifests
for split in train:${N_TRAIN:-300} val:${N_EVAL:-40} test:${N_EVAL:-40}; do
  name=demo_en_${split%%:*}.jsonl
  head -n "${split##*:}" "data/manifests/$name" > "device_data/data/manifests/$name"
  sed -nE 's/.*"audio_filepath": "\.\.\/([^"]+)".*/\1/p' "device_data/data/manifests/$name" | while read -r f; do
    mkdir -p "device_data/data/$(dirname "$f")" && cp "data/$f" "device_data/data/$f"
  done
done
du -sh device_data
