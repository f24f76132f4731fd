#!/usr/bin/env bash
# The anchors of the side-by-side benchmarks (bench/models.py, bench/ops.py, bench/train.py): a Python
# virtual environment outside the repository with the newest PyTorch, torchvision (the twins of
# tests/fixtures/make_vggface2.py import it), ONNX Runtime, onnx and onnxscript (torch.onnx.export) from
# the Python package index. Debian's PyTorch 1.13 (/usr/bin/python3, python3-torch) is the third anchor
# and is not touched here. The index's torch wheel for x86-64 Linux is a CUDA build: it imports only with
# its nvidia-* runtime wheels beside it (about 3 GB), so they are installed too; the benchmarks run it
# on the CPU. Idempotent: a second run keeps what is there (--upgrade moves to the newest releases).
#
#   bash bench/setup-anchors.sh [--upgrade] [VENV_DIR]
#        VENV_DIR: default $FK_ANCHORS, else ~/.cache/facekit/anchors (bench/*.py look there too)
set -euo pipefail

upgrade=()
venv=""
for a in "$@"; do
  case "$a" in
    --upgrade) upgrade=(--upgrade) ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "setup-anchors.sh: unknown option $a" >&2; exit 2 ;;
    *) venv="$a" ;;
  esac
done
venv="${venv:-${FK_ANCHORS:-$HOME/.cache/facekit/anchors}}"
python="${PYTHON:-/usr/bin/python3}"

repo="$(cd "$(dirname "$0")/.." && pwd)"
case "$(cd "$(dirname "$venv")" 2>/dev/null && pwd)/" in
  "$repo"/*) echo "setup-anchors.sh: $venv is inside the repository; pick a folder outside it" >&2; exit 2 ;;
esac

if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv (from $python)"
  mkdir -p "$(dirname "$venv")"
  if ! "$python" -m venv "$venv"; then
    echo "setup-anchors.sh: '$python -m venv' failed: apt-get install python3-venv" >&2
    exit 1
  fi
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q "${upgrade[@]}" pip
# numpy for the inputs, torch + torchvision for the twins, onnx + onnxscript for the export, onnxruntime to run it
"${pip[@]}" install -q "${upgrade[@]}" numpy torch torchvision onnx onnxscript onnxruntime

echo "installed in $venv:"
"${pip[@]}" list --format=freeze 2>/dev/null | grep -iE '^(torch|torchvision|onnx|onnxscript|onnxruntime|numpy)==' \
  | sed 's/^/  /'
echo "  + $("${pip[@]}" list --format=freeze 2>/dev/null | grep -ciE '^nvidia-') nvidia-* CUDA runtime wheels (torch" \
  "imports only with them); the venv takes $(du -sh "$venv" | cut -f1)"
"$venv/bin/python" - <<'EOF'
import numpy, onnx, onnxruntime, torch
x = torch.randn(8, 8)
assert torch.allclose(x @ torch.eye(8), x)
print(f"  import check: torch {torch.__version__} (CPU threads {torch.get_num_threads()}, "
      f"compile {'yes' if hasattr(torch, 'compile') else 'no'}), onnxruntime {onnxruntime.__version__} "
      f"{onnxruntime.get_available_providers()}, onnx {onnx.__version__}, numpy {numpy.__version__}")
EOF
