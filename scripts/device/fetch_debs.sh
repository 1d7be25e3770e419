#!/usr/bin/env bash
# Run here (Debian): downloads the Debian packages Sori builds against (and the libraries they
# need that the GPU image lacks) into device_debs/, ignored by git, for the GPU machine, which
# cannot reach a package registry. scripts/device/gpu_check.sh unpacks them there.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p device_debs
cd device_debs
apt-get download \
  libyaml-cpp-dev libyaml-cpp0.7 \
  libsndfile1-dev libsndfile1 libflac12 libogg0 libvorbis0a libvorbisenc2 libopus0 libmpg123-0 libmp3lame0 \
  libsamplerate0-dev libsamplerate0 \
  libsentencepiece-dev libsentencepiece0 \
  nlohmann-json3-dev libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 \
  libgtest-dev zlib1g-dev
du -sh .
