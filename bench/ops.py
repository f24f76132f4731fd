#!/usr/bin/env python3
"""Side-by-side benchmark: the cases of bench/ops.cpp in facekit and in PyTorch, same shapes, same
thread count, one run. Prints a table with the ratio (PyTorch time / facekit time: > 1 means
facekit is faster). Needs Debian's python3-torch (bash scripts/install-deps.sh --torch).

  /usr/bin/python3 bench/ops.py [--threads 2] [--repeats 10] [--build build]
"""
import argparse, json, os, platform, statistics, subprocess, sys, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=10)
ap.add_argument("--build", default="build", help="facekit build folder holding bench_ops")
args = ap.parse_args()

# both sides get the same thread settings (set before torch is imported)
os.environ.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
env = dict(os.environ)
exe = os.path.join(args.build, "bench_ops")
if not os.path.exists(exe):
    sys.exit(f"bench/ops.py: {exe} not found: build first (cmake --build {args.build})")
out = subprocess.run([exe, str(args.repeats)], env=env, check=True, capture_output=True, text=True).stdout
ours = {r["name"]: r["ms"] for r in map(json.loads, out.splitlines())}

import torch
import torch.nn.functional as F
torch.set_num_threads(args.threads)  # Debian's build defaults to 1
torch.manual_seed(0)

def median_ms(fn):
    fn(); fn()
    ts = []
    for _ in range(args.repeats):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)

theirs = {}
with torch.no_grad():
    x = torch.randn(8, 64, 56, 56); w = torch.randn(64, 64, 3, 3)
    theirs["conv2d 3x3 64->64 56x56 b8"] = median_ms(lambda: F.conv2d(x, w, padding=1))
dy = torch.randn(8, 64, 56, 56)
xg = x.clone().requires_grad_(); wg = w.clone().requires_grad_()
def conv_bwd():
    torch.autograd.grad(F.conv2d(xg, wg, padding=1), (xg, wg), dy)
# the backward case times forward + backward in PyTorch minus its forward
fb = median_ms(conv_bwd)
theirs["conv2d 3x3 64->64 56x56 b8 backward"] = max(fb - theirs["conv2d 3x3 64->64 56x56 b8"], 1e-3)
with torch.no_grad():
    x = torch.randn(8, 256, 56, 56); w = torch.randn(64, 256, 1, 1)
    theirs["conv2d 1x1 256->64 56x56 b8"] = median_ms(lambda: F.conv2d(x, w))
    x = torch.randn(8, 128, 56, 56); w = torch.randn(128, 128, 3, 3)
    theirs["conv2d 3x3/2 128->128 56x56 b8"] = median_ms(lambda: F.conv2d(x, w, padding=1, stride=2))
    a = torch.randn(1024, 1024); b = torch.randn(1024, 1024)
    theirs["matmul 1024^3"] = median_ms(lambda: a @ b)
    x = torch.randn(8, 256, 56, 56)
    g, be, rm, rv = torch.ones(256), torch.zeros(256), torch.zeros(256), torch.ones(256)
    theirs["batch_norm train 8x256x56x56"] = median_ms(lambda: F.batch_norm(x, rm, rv, g, be, True, 0.1, 1e-5))
    theirs["batch_norm eval 8x256x56x56"] = median_ms(lambda: F.batch_norm(x, rm, rv, g, be, False, 0.1, 1e-5))

print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, "
      f"{time.strftime('%Y-%m-%d')}")
print(f"| case | facekit ms | PyTorch ms | PyTorch/facekit |")
print(f"| --- | ---: | ---: | ---: |")
for name, ms in ours.items():
    t = theirs.get(name)
    print(f"| {name} | {ms:.2f} | {t:.2f} | {t / ms:.2f} |" if t else f"| {name} | {ms:.2f} | - | - |")
