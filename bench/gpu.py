#!/usr/bin/env python3
"""Side-by-side GPU benchmark: images/s of zoo models on CUDA in facekit (bench_gpu, run twice: FK_CONV=cudnn
and FK_CONV=native) and in PyTorch (the reference definitions of tests/fixtures/make_*.py, as bench/models.py
and bench/train.py use), same model, work, batch, input size, head and optimiser, on the same GPU, one run.
  forward  eval mode, no grad, one random batch already on the GPU
  train    zero_grad, forward in train mode, insightface ArcFace head (s 64, m 0.5, --classes classes) on the
           model's output, cross-entropy, backward, SGD step (lr 0.1, momentum 0.9, egcode's sgd_bn groups:
           weight decay 5e-4 except on BatchNorm parameters)
The first --warmup steps are not timed; the timed steps sit between two synchronizations (cuda::synchronize
in facekit, torch.cuda.synchronize here). PyTorch runs with torch.backends.cudnn.benchmark = True and TF32
OFF (matmul and cuDNN), matching facekit's plain float32 math; --tf32 turns TF32 on for PyTorch, to see what
it buys. Prints one table with the GPU name and date; ratio = facekit images/s / PyTorch images/s (> 1 means
facekit is faster). --json OUT also writes every result.

  python3 bench/gpu.py [--steps 20] [--warmup 5] [--classes 1000] [--build build] [--json OUT] [--tf32]
                       [work:arch:batch ...]
  (default: forward:ir_50:64 forward:resnet50_torchvision:64 forward:resnet50_vggface2:64
            train:ir_50:64 train:resnet50_torchvision:32 train:resnet50_vggface2:32)
"""
import argparse, datetime, json, os, subprocess, sys, time

DEFAULT_CASES = ["forward:ir_50:64", "forward:resnet50_torchvision:64", "forward:resnet50_vggface2:64",
                 "train:ir_50:64", "train:resnet50_torchvision:32", "train:resnet50_vggface2:32"]

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--steps", type=int, default=20, help="timed steps per case")
ap.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
ap.add_argument("--classes", type=int, default=1000, help="ArcFace classes (train)")
ap.add_argument("--build", default="build", help="facekit CUDA build folder holding bench_gpu")
ap.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
ap.add_argument("--tf32", action="store_true", help="let PyTorch use TF32 (facekit never does)")
ap.add_argument("cases", nargs="*", default=DEFAULT_CASES, help="work:arch:batch (default: %(default)s)")
args = ap.parse_args()

exe = os.path.join(args.build, "bench_gpu")
if not os.path.exists(exe):
    sys.exit(f"bench/gpu.py: {exe} not found: build first (cmake --build {args.build} --target bench_gpu)")


def facekit(backend):
    """bench_gpu's JSON lines under FK_CONV=backend, keyed by (name, work, batch)."""
    env = dict(os.environ, FK_CONV=backend)
    run = subprocess.run([exe, str(args.steps), str(args.warmup), str(args.classes)] + args.cases, env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"bench/gpu.py: bench_gpu with FK_CONV={backend} failed: {run.stderr.strip()}")
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    for r in rows:
        if r["backend"] != backend:
            sys.exit(f"bench/gpu.py: bench_gpu ran {r['backend']} under FK_CONV={backend}")
    return {(r["name"], r["work"], r["batch"]): r for r in rows}


ours = {"cudnn": facekit("cudnn"), "native": facekit("native")}

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

if not torch.cuda.is_available():
    sys.exit("bench/gpu.py: PyTorch sees no CUDA device")
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = args.tf32
torch.backends.cudnn.allow_tf32 = args.tf32
torch.manual_seed(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_twins import TORCH, ArcFace, sgd_bn  # noqa: E402


def timed(step):
    """seconds of args.steps calls of step() after args.warmup untimed ones, synchronized on both ends"""
    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    return time.perf_counter() - t


def torch_images_per_s(name, work, shape, classes):
    if name not in TORCH:
        sys.exit(f"bench/gpu.py: no PyTorch twin for {name} (known: {', '.join(TORCH)})")
    dev = torch.device("cuda")
    model = TORCH[name]().to(dev)
    x = torch.randn(*shape, device=dev)
    if work == "forward":
        model.eval()
        with torch.no_grad():
            seconds = timed(lambda: model(x))
    else:
        with torch.no_grad():
            dim = torch.flatten(model.eval()(x), 1).shape[1]
        model.train()
        head = ArcFace(dim, classes).to(dev)
        opt = sgd_bn(model, head)
        labels = torch.randint(0, classes, (shape[0],), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(head(torch.flatten(model(x), 1), labels), labels)
            loss.backward()
            opt.step()

        seconds = timed(step)
    del model
    torch.cuda.empty_cache()
    return shape[0] * args.steps / seconds


gpu = torch.cuda.get_device_name(0)
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"# {gpu}, {date}, torch {torch.__version__} (CUDA {torch.version.cuda}, cudnn.benchmark, "
      f"TF32 {'on' if args.tf32 else 'off'}), facekit: {next(iter(ours['cudnn'].values()))['device']}")
print(f"# {args.steps} timed steps after {args.warmup} warm-up; train = forward, ArcFace {args.classes} classes, "
      f"CE, backward, SGD momentum; ratio = facekit / torch")
print(f"{'model':22s} {'work':>7s} {'batch':>5s} {'fk cudnn img/s':>15s} {'fk native img/s':>16s} "
      f"{'torch img/s':>12s} {'cudnn/torch':>12s} {'native/torch':>13s}")
results = []
for key, r in ours["cudnn"].items():
    name, work, batch = key
    native = ours["native"][key]["images_per_s"]
    theirs = torch_images_per_s(name, work, r["input"], r["classes"])
    ours_cudnn = r["images_per_s"]
    results.append({"name": name, "work": work, "batch": batch, "input": r["input"], "classes": r["classes"],
                    "facekit_cudnn_images_per_s": ours_cudnn, "facekit_native_images_per_s": native,
                    "torch_images_per_s": theirs, "ratio_cudnn": ours_cudnn / theirs, "ratio_native": native / theirs})
    print(f"{name:22s} {work:>7s} {batch:5d} {ours_cudnn:15.1f} {native:16.1f} {theirs:12.1f} "
          f"{ours_cudnn / theirs:12.2f} {native / theirs:13.2f}", flush=True)

if args.json:
    with open(args.json, "w") as f:
        json.dump({"gpu": gpu, "date": date, "torch": torch.__version__, "tf32": args.tf32, "steps": args.steps,
                   "warmup": args.warmup, "facekit_device": next(iter(ours["cudnn"].values()))["device"],
                   "results": results}, f, indent=1)
        f.write("\n")
