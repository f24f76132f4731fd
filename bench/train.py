#!/usr/bin/env python3
"""Side-by-side benchmark: training images/s of zoo models in facekit (bench_train) and in PyTorch (the
reference definitions of tests/fixtures/make_*.py), same model, batch, input size, head, optimiser and
thread count, on the same machine, one run. A step: zero_grad, forward in train mode, insightface
ArcFace head (s 64, m 0.5, --classes classes), cross-entropy, backward, SGD step (lr 0.1, momentum 0.9,
egcode's sgd_bn groups: weight decay 5e-4 except on BatchNorm parameters), on one random batch. The
first --warmup steps are not timed. Prints one table; ratio = facekit images/s / PyTorch images/s
(> 1 means facekit is faster), printed only when both used the same number of threads: PyTorch's is set
after every import (the twins' fixture modules included) and read back with torch.get_num_threads(),
facekit's is what bench_train reports (OpenMP, and OpenBLAS's when it differs). Every engine runs each
case in a process of its own (facekit: bench_train, PyTorch: this script with --torch-one), so the
table also gives each process's peak resident memory (RSS, MiB; PyTorch's includes the interpreter).
Needs a PyTorch (Debian's python3-torch: bash scripts/install-deps.sh --torch; or the PyPI one of
bench/setup-anchors.sh); PyTorch runs under the interpreter that runs this script.

  /usr/bin/python3 bench/train.py [--threads 2] [--steps 10] [--warmup 2] [--classes 1000]
                                  [--build build] [arch:batch ...]   (default: ir_50:8 mobilefacenet:32)
"""
import argparse, json, os, resource, shlex, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only)

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=10, help="timed steps per model")
ap.add_argument("--warmup", type=int, default=2, help="untimed steps before them")
ap.add_argument("--classes", type=int, default=1000, help="ArcFace classes")
ap.add_argument("--build", default="build", help="facekit build folder holding bench_train")
ap.add_argument("--torch-one", nargs=5, metavar=("NAME", "B", "C", "H", "W"),
                help="(internal) time one case in PyTorch in this process and print one JSON line")
ap.add_argument("cases", nargs="*", default=["ir_50:8", "mobilefacenet:32"], help="arch:batch (default: %(default)s)")
args = ap.parse_args()


def torch_one(name, shape, classes):
    """One case in PyTorch, in this process: images/s, threads used, version, peak RSS."""
    import torch
    import torch.nn.functional as F
    from torch_twins import TORCH, ArcFace, import_twins, sgd_bn
    if name not in TORCH:
        sys.exit(f"bench/train.py: no PyTorch twin for {name} (known: {', '.join(TORCH)})")
    import_twins([name])  # the fixture modules, before the threads are set
    torch.set_num_threads(args.threads)  # after every import (Debian's build defaults to 1)
    torch.manual_seed(0)
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
    return dict(images_per_s=shape[0] * args.steps / timed, threads=torch.get_num_threads(),
                version=torch.__version__, rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if args.torch_one:
    name, *dims = args.torch_one
    print(json.dumps(torch_one(name, [int(d) for d in dims], args.classes)), flush=True)
    sys.exit(0)

# both sides get the same thread environment; PyTorch also sets its count after all its imports
env = common.thread_env(args.threads)
exe = os.path.join(args.build, "bench_train")
if not os.path.exists(exe):
    sys.exit(f"bench/train.py: {exe} not found: build first (cmake --build {args.build} --target bench_train)")


def run_json(cmd):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench/train.py: {shlex.join(cmd)} failed: {p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def facekit_threads(r):
    b = r.get("blas_threads", -1)
    return r.get("threads") if b in (-1, r.get("threads")) else f"{r.get('threads')}/BLAS {b}"


rows = []
for case in args.cases:
    ours = run_json([exe, str(args.steps), str(args.warmup), str(args.classes), case])
    theirs = run_json([sys.executable, os.path.abspath(__file__), "--threads", str(args.threads), "--steps",
                       str(args.steps), "--warmup", str(args.warmup), "--classes", str(args.classes),
                       "--torch-one", ours["name"]] + [str(d) for d in ours["input"]])
    rows.append((ours, theirs))

versions = sorted({t["version"] for _, t in rows})
print(common.header(args.threads, f"torch {', '.join(versions)}, train step (forward, ArcFace {args.classes} classes, "
                                  f"CE, backward, SGD), {args.steps} timed steps after {args.warmup} warm-up"))
print("# threads used: facekit: " + "; ".join(sorted({
    f"OpenMP {r.get('threads')}" + (f", OpenBLAS {r['blas_threads']}" if r.get("blas_threads", -1) != -1 else "")
    for r, _ in rows})) + "; PyTorch: " + ", ".join(sorted({str(t["threads"]) for _, t in rows})))
print("# one process per engine and case; RSS: its peak resident memory (MiB)")
print(f"{'model':22s} {'batch':>5s} {'input':>10s} {'facekit img/s':>14s} {'torch img/s':>12s} {'ratio':>7s} "
      f"{'facekit RSS':>12s} {'torch RSS':>10s}")
for r, t in rows:
    size = "x".join(str(d) for d in r["input"][1:])
    t_fk = facekit_threads(r)
    ratio = f"{r['images_per_s'] / t['images_per_s']:7.2f}" if common.same_threads(t_fk, t["threads"]) else \
        f"  -     (threads: facekit {t_fk}, PyTorch {t['threads']}: no ratio)"
    print(f"{r['name']:22s} {r['batch']:5d} {size:>10s} {r['images_per_s']:14.2f} {t['images_per_s']:12.2f} {ratio} "
          f"{r.get('rss_mb', 0):12.0f} {t['rss_mb']:10.0f}", flush=True)
