#!/usr/bin/env python3
"""Side-by-side benchmark: forward time of every zoo model at full size, batch 1, eval mode, no grad,
in facekit (bench_models) and in PyTorch (the reference definitions of tests/fixtures/make_*.py), same
input sizes, same thread count, one run. Prints a table with the ratio (PyTorch time / facekit time:
> 1 means facekit is faster). Needs Debian's python3-torch (bash scripts/install-deps.sh --torch).

  /usr/bin/python3 bench/models.py [--threads 2] [--repeats 5] [--build build] [arch ...]
"""
import argparse, json, os, platform, statistics, subprocess, sys, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--build", default="build", help="facekit build folder holding bench_models")
ap.add_argument("arch", nargs="*", help="only these architectures (default: all)")
args = ap.parse_args()

os.environ.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
exe = os.path.join(args.build, "bench_models")
if not os.path.exists(exe):
    sys.exit(f"bench/models.py: {exe} not found: build first (cmake --build {args.build})")
out = subprocess.run([exe, str(args.repeats)] + args.arch, env=dict(os.environ), check=True, capture_output=True,
                     text=True).stdout
ours = [json.loads(line) for line in out.splitlines()]

import torch  # noqa: E402
torch.set_num_threads(args.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import make_vggface2 as vgg  # noqa: E402
import make_inception_mobilefacenet as inc  # noqa: E402
import make_ir as ir  # noqa: E402
import make_mtcnn_nets as mt  # noqa: E402

TORCH = {
    "resnet50_vggface2": lambda: vgg.VGGFace2ResNet(se=False),
    "senet50_vggface2": lambda: vgg.VGGFace2ResNet(se=True),
    "resnet50_torchvision": lambda: vgg.torchvision_resnet50(),
    "inception_resnet_v1": lambda: inc.InceptionResnetV1(),
    "ir_50": lambda: ir.Backbone(112, 50),
    "ir_se_50": lambda: ir.Backbone(112, 50, "ir_se"),
    "ir_101": lambda: ir.Backbone(112, 100),
    "iresnet18": lambda: ir.IResNet(ir.IRESNET_LAYERS["iresnet18"]),
    "iresnet34": lambda: ir.IResNet(ir.IRESNET_LAYERS["iresnet34"]),
    "iresnet50": lambda: ir.IResNet(ir.IRESNET_LAYERS["iresnet50"]),
    "iresnet100": lambda: ir.IResNet(ir.IRESNET_LAYERS["iresnet100"]),
    "mobilefacenet": lambda: inc.MobileFacenet(),
    "pnet": lambda: mt.PNet(),
    "rnet": lambda: mt.RNet(),
    "onet": lambda: mt.ONet(),
}


def median_ms(fn):
    fn()
    ts = []
    for _ in range(args.repeats):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, "
      f"batch 1, eval, median of {args.repeats}")
print(f"{'model':22s} {'input':>16s} {'facekit ms':>11s} {'torch ms':>10s} {'ratio':>7s}")
with torch.no_grad():
    for r in ours:
        model = TORCH[r["name"]]().eval()
        x = torch.randn(*r["input"])
        theirs = median_ms(lambda: model(x))
        shape = "x".join(str(d) for d in r["input"][1:])
        print(f"{r['name']:22s} {shape:>16s} {r['ms']:11.2f} {theirs:10.2f} {theirs / r['ms']:7.2f}", flush=True)
