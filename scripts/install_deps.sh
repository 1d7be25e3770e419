#!/usr/bin/env bash
# Installs every Debian package Sori needs; idempotent (does nothing when all are present).
# libopenblas0-pthread matters: without it Debian's LibTorch uses the reference BLAS (20x slower).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread
  libyaml-cpp-dev libsndfile1-dev nlohmann-json3-dev libgtest-dev
  libsamplerate0-dev libsentencepiece-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libcli11-dev libspdlog-dev libfmt-dev libgloo-dev zlib1g-dev
  espeak-ng flite sox wamerican hunspell-ko sctk
  gnuplot-nox chromium-headless-shell
  python3-torch python3-torchaudio python3-numpy python3-onnx
)

missing=()
# node/npm may come from a non-Debian nodejs package that bundles npm; only ask apt when absent.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
