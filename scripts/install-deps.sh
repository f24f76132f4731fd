#!/usr/bin/env bash
# Installs everything facekit needs to build and test, from Debian packages only.
#   bash scripts/install-deps.sh          build + test dependencies
#   bash scripts/install-deps.sh --torch  also Debian's PyTorch, for the fixture scripts and bench/
#                                         (python3-opencv: optional comparison in make_image_align.py)
# The CUDA toolkit (nvcc, cuBLAS, cuDNN) is optional and not installed here: when nvcc is on PATH
# (or in /usr/local/cuda/bin) CMake builds the CUDA backend too.
# Also makes the readers' venv, ~/.cache/facekit/readers: the Python packages from the package index
# whose readers the tests check facekit's files with (tensorboard's event reader for `train
# --tensorboard`, h5py for `.h5` galleries); tests that need it report *skipped* without it.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(
  build-essential cmake pkg-config git
  libeigen3-dev libopenblas-openmp-dev libstb-dev libjpeg62-turbo-dev doctest-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libhdf5-dev
  python3 python3-numpy python3-venv
  curl ca-certificates unzip  # scripts/fetch-weights.sh: the MTCNN weights inside facenet-pytorch's wheel
  python3-skimage             # ships astronaut.png, the photo the README's main command runs on
  clang libclang-rt-14-dev  # libFuzzer, for scripts/fuzz.sh
)
if [ "${1:-}" = "--torch" ]; then
  packages+=(python3-torch python3-torchvision)
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "facekit dependencies installed: ${packages[*]}"

readers="$HOME/.cache/facekit/readers"
if [ ! -x "$readers/bin/python" ] || ! "$readers/bin/python" -c "import tensorboard, h5py" 2>/dev/null; then
  /usr/bin/python3 -m venv "$readers"  # Debian's Python (python3-venv)
  "$readers/bin/pip" install -q --disable-pip-version-check tensorboard h5py
fi
echo "readers' venv: $readers (tensorboard $("$readers/bin/python" -c 'import tensorboard; print(tensorboard.__version__)'))"
