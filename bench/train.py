#!/usr/bin/env python3
"""Side-by-side benchmark: training images/s of zoo models in facekit (bench_train) and in PyTorch (the
reference definitions of tests/fixtures/make_*.py), same model, batch, input size, head, optimiser and
thread count, on the same machine, one run. A step: zero_grad, forward in train mode, insightface
ArcFace head (s 64, m 0.5, --classes classes), cross-entropy, backward, SGD step (lr 0.1, momentum 0.9,
egcode's sgd_bn groups: weight decay 5e-4 except on BatchNorm parameters), on one random batch. The
first --warmup steps are not timed. Prints one table; ratio = facekit images/s / PyTorch images/s
(> 1 means facekit is faster). Needs Debian's python3-torch (bash scripts/install-deps.sh --torch).

  /usr/bin/python3 bench/train.py [--threads 2] [--steps 10] [--warmup 2] [--classes 1000]
                                  [--build build] [arch:batch ...]   (default: ir_50:8 mobilefacenet:32)
"""
import argparse, json, os, platform, subprocess, sys, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=10, help="timed steps per model")
ap.add_argument("--warmup", type=int, default=2, help="untimed steps before them")
ap.add_argument("--classes", type=int, default=1000, help="ArcFace classes")
ap.add_argument("--build", default="build", help="facekit build folder holding bench_train")
ap.add_argument("cases", nargs="*", default=["ir_50:8", "mobilefacenet:32"], help="arch:batch (default: %(default)s)")
args = ap.parse_args()

# both sides get the same thread settings (set before torch is imported)
os.environ.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
exe = os.path.join(args.build, "bench_train")
if not os.path.exists(exe):
    sys.exit(f"bench/train.py: {exe} not found: build first (cmake --build {args.build} --target bench_train)")
out = subprocess.run([exe, str(args.steps), str(args.warmup), str(args.classes)] + args.cases, env=dict(os.environ),
                     check=True, capture_output=True, text=True).stdout
ours = [json.loads(line) for line in out.splitlines()]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
torch.set_num_threads(args.threads)  # Debian's build defaults to 1
torch.manual_seed(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_twins import TORCH, ArcFace, sgd_bn  # noqa: E402


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


print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, "
      f"train step (forward, ArcFace {args.classes} classes, CE, backward, SGD), "
      f"{args.steps} timed steps after {args.warmup} warm-up")
print(f"{'model':22s} {'batch':>5s} {'input':>10s} {'facekit img/s':>14s} {'torch img/s':>12s} {'ratio':>7s}")
for r in ours:
    theirs = torch_images_per_s(r["name"], r["input"], r["classes"])
    size = "x".join(str(d) for d in r["input"][1:])
    print(f"{r['name']:22s} {r['batch']:5d} {size:>10s} {r['images_per_s']:14.2f} {theirs:12.2f} "
          f"{r['images_per_s'] / theirs:7.2f}", flush=True)
