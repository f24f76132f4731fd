#!/usr/bin/env python3
"""Side-by-side benchmark: training images/s of zoo models in facekit (bench_train) and in PyTorch (the
reference definitions of tests/fixtures/make_*.py), same model, batch, input size, head, optimiser and
thread count, on the same machine, one run. A step: zero_grad, forward in train mode, insightface
ArcFace head (s 64, m 0.5, --classes classes), cross-entropy, backward, SGD step (lr 0.1, momentum 0.9,
egcode's sgd_bn groups: weight decay 5e-4 except on BatchNorm parameters), on one random batch. The
first --warmup steps are not timed. Prints one table; ratio = facekit images/s / PyTorch images/s
(> 1 means facekit is faster), printed only when both used the same number of threads: PyTorch's is set
after every import (the twins' fixture modules included) and read back with torch.get_num_threads(),
facekit's is what bench_train reports (OpenMP, and OpenBLAS's when it differs). Needs Debian's
python3-torch (bash scripts/install-deps.sh --torch).

  /usr/bin/python3 bench/train.py [--threads 2] [--steps 10] [--warmup 2] [--classes 1000]
                                  [--build build] [arch:batch ...]   (default: ir_50:8 mobilefacenet:32)
"""
import argparse, json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only)

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=10, help="timed steps per model")
ap.add_argument("--warmup", type=int, default=2, help="untimed steps before them")
ap.add_argument("--classes", type=int, default=1000, help="ArcFace classes")
ap.add_argument("--build", default="build", help="facekit build folder holding bench_train")
ap.add_argument("cases", nargs="*", default=["ir_50:8", "mobilefacenet:32"], help="arch:batch (default: %(default)s)")
args = ap.parse_args()

# both sides get the same thread environment; PyTorch also sets its count after all its imports, below
os.environ.update(common.thread_env(args.threads))
exe = os.path.join(args.build, "bench_train")
if not os.path.exists(exe):
    sys.exit(f"bench/train.py: {exe} not found: build first (cmake --build {args.build} --target bench_train)")
out = subprocess.run([exe, str(args.steps), str(args.warmup), str(args.classes)] + args.cases, env=dict(os.environ),
                     check=True, capture_output=True, text=True).stdout
ours = [json.loads(line) for line in out.splitlines()]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_twins import TORCH, ArcFace, import_twins, sgd_bn  # noqa: E402
import_twins([r["name"] for r in ours if r["name"] in TORCH])  # the fixture modules, before the threads are set
torch.set_num_threads(args.threads)  # after every import (Debian's build defaults to 1)
torch.manual_seed(0)


def torch_images_per_s(name, shape, classes):
    if name not in TORCH:
        sys.exit(f"bench/train.py: no PyTorch twin for {name} (known: {', '.join(TORCH)})")
    model = TORCH[name]()
    with torch.no_grad():
        dim = model.eval()(torch.randn(2, *shape[1:])).shape[1]
    model.train()
    head = ArcFace(dim, classes)
    opt = sgd_bn(model, head)
    x = torch.randn(*shape)
    labels = torch.randint(0, classes, (shape[0],))
    timed = 0.0
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(model(x), labels), labels)
        loss.backward()
        opt.step()
        if i >= args.warmup:
            timed += time.perf_counter() - t
    return shape[0] * args.steps / timed


def facekit_threads(r):
    b = r.get("blas_threads", -1)
    return r.get("threads") if b in (-1, r.get("threads")) else f"{r.get('threads')}/BLAS {b}"


print(common.header(args.threads, f"torch {torch.__version__}, train step (forward, ArcFace {args.classes} classes, "
                                  f"CE, backward, SGD), {args.steps} timed steps after {args.warmup} warm-up"))
print("# threads used: facekit: " + "; ".join(sorted({
    f"OpenMP {r.get('threads')}" + (f", OpenBLAS {r['blas_threads']}" if r.get("blas_threads", -1) != -1 else "")
    for r in ours})) + f"; PyTorch: {torch.get_num_threads()}")
print(f"{'model':22s} {'batch':>5s} {'input':>10s} {'facekit img/s':>14s} {'torch img/s':>12s} {'ratio':>7s}")
for r in ours:
    theirs = torch_images_per_s(r["name"], r["input"], r["classes"])
    size = "x".join(str(d) for d in r["input"][1:])
    t_fk, t_torch = facekit_threads(r), torch.get_num_threads()
    ratio = f"{r['images_per_s'] / theirs:7.2f}" if common.same_threads(t_fk, t_torch) else \
        f"  -     (threads: facekit {t_fk}, PyTorch {t_torch}: no ratio)"
    print(f"{r['name']:22s} {r['batch']:5d} {size:>10s} {r['images_per_s']:14.2f} {theirs:12.2f} {ratio}", flush=True)
