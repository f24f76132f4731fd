#!/usr/bin/env bash
# Fetches the published MTCNN weights (pnet.pt, rnet.pt, onet.pt: facenet-pytorch's, MIT licence)
# without any Python framework: they ship inside the facenet-pytorch wheel on the Python package index,
# which is a zip file. Downloads the wheel (pip download when pip is there, else curl), checks its
# sha256, unzips the three files and checks theirs.
#   bash scripts/fetch-weights.sh [DIR]     DIR: default $FACEKIT_WEIGHTS, else ~/.cache/facekit
set -euo pipefail

dest="${1:-${FACEKIT_WEIGHTS:-$HOME/.cache/facekit}}"
wheel_name="facenet_pytorch-2.6.0-py3-none-any.whl"
wheel_sha="ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca"
declare -A file_sha=(
  [pnet.pt]=a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f
  [rnet.pt]=bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86
  [onet.pt]=165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d
)

have_all() {
  for f in "${!file_sha[@]}"; do
    [ -f "$dest/$f" ] && echo "${file_sha[$f]}  $dest/$f" | sha256sum -c --status || return 1
  done
}
if have_all; then
  echo "MTCNN weights already in $dest"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if python3 -m pip --version >/dev/null 2>&1 &&
   python3 -m pip download -q --no-deps facenet-pytorch==2.6.0 -d "$tmp" >/dev/null 2>&1 && [ -f "$tmp/$wheel_name" ]; then
  :
else
  curl -fsSL --retry 3 -o "$tmp/$wheel_name" \
    "https://files.pythonhosted.org/packages/py3/f/facenet-pytorch/$wheel_name"
fi
echo "$wheel_sha  $tmp/$wheel_name" | sha256sum -c --status ||
  { echo "fetch-weights.sh: $wheel_name: unexpected sha256" >&2; exit 1; }

mkdir -p "$dest"
unzip -q -o -j "$tmp/$wheel_name" 'facenet_pytorch/data/pnet.pt' 'facenet_pytorch/data/rnet.pt' \
  'facenet_pytorch/data/onet.pt' -d "$tmp/out"
for f in "${!file_sha[@]}"; do
  echo "${file_sha[$f]}  $tmp/out/$f" | sha256sum -c --status ||
    { echo "fetch-weights.sh: $f: unexpected sha256" >&2; exit 1; }
  mv -f "$tmp/out/$f" "$dest/$f"  # each file replaced whole
done
echo "MTCNN weights in $dest"
