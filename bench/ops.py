#!/usr/bin/env python3
"""Side-by-side benchmark of single ops, facekit (bench_ops) against PyTorch, same shapes, same threads.
Two tables:

  ops    the fixed cases of bench/ops.cpp (conv2d forward and backward, matmul, batch_norm)
  ir50   every distinct 3x3 convolution of IR-50 (tests/fixtures/make_ir.py: Backbone(112, 50)), with how
         often the model runs it, at each --batches size: facekit's ms, GFLOP/s and % of the FMA peak
         (bench_fma_peak on the same threads)

PyTorch runs in its own subprocess per anchor (Debian's python3-torch 1.13; the newest PyTorch from the
venv of bench/setup-anchors.sh when present), sets its thread count after all imports and reports the
count it used; facekit reports OpenMP's and OpenBLAS's. A ratio (PyTorch ms / facekit ms: > 1 means
facekit is faster) is printed only when the thread counts agree. Times: median of --repeats after warm-up.

  python3 bench/ops.py [--threads 2] [--repeats 10] [--build build] [--tables ops,ir50] [--batches 1,8]
                       [--venv ~/.cache/facekit/anchors]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only)

OPS = ["conv2d 3x3 64->64 56x56 b8", "conv2d 3x3 64->64 56x56 b8 backward", "conv2d 1x1 256->64 56x56 b8",
       "conv2d 3x3/2 128->128 56x56 b8", "matmul 1024^3", "batch_norm train 8x256x56x56", "batch_norm eval 8x256x56x56"]


def ir50_convs():
    """(C, H, K, stride, times in the model): IR-50's 3x3 convolutions at 112x112, pad 1, as make_ir.py
    builds them: the input layer's 3->64, then per unit of get_blocks(50) (in, depth, stride) a 3x3
    in->depth stride 1 and a 3x3 depth->depth with the unit's stride."""
    units, blocks, cin = [3, 4, 14, 3], [], 64
    for depth, n in zip([64, 128, 256, 512], units):
        blocks += [(cin, depth, 2)] + [(depth, depth, 1)] * (n - 1)
        cin = depth
    out, side = {(3, 112, 64, 1): 1}, 112
    for cin, depth, stride in blocks:
        for key in [(cin, side, depth, 1), (depth, side, depth, stride)]:
            out[key] = out.get(key, 0) + 1
        side = (side - 1) // stride + 1
    return [(c, h, k, s, n) for (c, h, k, s), n in out.items()]


def conv_spec(n, c, h, k, s):
    return [n, c, h, h, k, 3, 3, s, 1]


def conv_name(v):
    n, c, h, w, k, r, s_, stride, pad = v
    return f"conv2d {r}x{s_}/{stride} {c}->{k} {h}x{w} b{n}"


# ---------------------------------------------------------------------------------------------- worker

def worker_torch(spec):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(spec["threads"])  # after every import
    torch.manual_seed(0)
    reps = spec["repeats"]

    def median_ms(fn):
        return common.median_times(fn, reps, 2)[0]

    def emit(name, ms):
        print(json.dumps(dict(name=name, ms=ms, threads=torch.get_num_threads(), version=torch.__version__)),
              flush=True)

    if spec["ops"]:
        with torch.no_grad():
            x = torch.randn(8, 64, 56, 56)
            w = torch.randn(64, 64, 3, 3)
            fwd = median_ms(lambda: F.conv2d(x, w, padding=1))
            emit(OPS[0], fwd)
        dy = torch.randn(8, 64, 56, 56)
        xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
        # the backward case: forward + backward in PyTorch minus its forward
        fb = median_ms(lambda: torch.autograd.grad(F.conv2d(xg, wg, padding=1), (xg, wg), dy))
        emit(OPS[1], max(fb - fwd, 1e-3))
        with torch.no_grad():
            x, w = torch.randn(8, 256, 56, 56), torch.randn(64, 256, 1, 1)
            emit(OPS[2], median_ms(lambda: F.conv2d(x, w)))
            x, w = torch.randn(8, 128, 56, 56), torch.randn(128, 128, 3, 3)
            emit(OPS[3], median_ms(lambda: F.conv2d(x, w, padding=1, stride=2)))
            a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
            emit(OPS[4], median_ms(lambda: a @ b))
            x = torch.randn(8, 256, 56, 56)
            g, be, rm, rv = torch.ones(256), torch.zeros(256), torch.zeros(256), torch.ones(256)
            emit(OPS[5], median_ms(lambda: F.batch_norm(x, rm, rv, g, be, True, 0.1, 1e-5)))
            emit(OPS[6], median_ms(lambda: F.batch_norm(x, rm, rv, g, be, False, 0.1, 1e-5)))
    with torch.no_grad():
        for v in spec["convs"]:
            n, c, h, w_, k, r, s, stride, pad = v
            x, w = torch.randn(n, c, h, w_), torch.randn(k, c, r, s)
            emit(conv_name(v), median_ms(lambda: F.conv2d(x, w, stride=stride, padding=pad)))


# ---------------------------------------------------------------------------------------------- driver

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--build", default="build", help="facekit build folder holding bench_ops, bench_fma_peak")
    ap.add_argument("--tables", default="ops,ir50", help="ops, ir50 or both")
    ap.add_argument("--batches", default="1,8", help="batch sizes of the ir50 table")
    ap.add_argument("--venv", default=common.DEFAULT_VENV, help="the anchors venv (bench/setup-anchors.sh)")
    args = ap.parse_args()
    tables = args.tables.split(",")
    T = args.threads
    env = common.thread_env(T)
    exe = os.path.join(args.build, "bench_ops")
    if not os.path.exists(exe):
        sys.exit(f"bench/ops.py: {exe} not found: build first (cmake --build {args.build} --target bench_ops)")

    convs = []
    if "ir50" in tables:
        for b in [int(x) for x in args.batches.split(",")]:
            convs += [(conv_spec(b, c, h, k, s), times) for c, h, k, s, times in ir50_convs()]

    anchors, notes = [], []
    for label, py in [("PyTorch (Debian)", common.DEBIAN_PYTHON), ("PyTorch (newest)", common.venv_python(args.venv))]:
        version, why = common.python_with(py, ["torch"])
        if version:
            anchors.append((f"PyTorch {version}" + (" (Debian)" if py == common.DEBIAN_PYTHON else ""), py))
        else:
            notes.append(f"{label}: skipped: {why}")
    peak, why_peak = common.fma_peak(args.build, T, env) if "ir50" in tables else (None, "")

    print(common.header(T, f"median of {args.repeats}"))
    if "ir50" in tables:
        print("\n".join(common.peak_lines(peak, why_peak)))
    for n in notes:
        print("# " + n)
    sys.stdout.flush()

    failures = []
    ours = {}
    threads_used = {}
    cmds = []
    if "ops" in tables:
        cmds.append([exe, str(args.repeats)])
    if convs:
        cmds.append([exe, "--repeats", str(args.repeats)]
                    + sum([["--conv", ",".join(map(str, v))] for v, _ in convs], []))
    for cmd in cmds:
        rows, err = common.run_json(cmd, env, what="bench_ops")
        if err:
            failures.append(f"facekit: {err}")
        for r in rows:
            t, used = common.facekit_threads(r)
            threads_used.setdefault("facekit", set()).add(used)
            ours[r["name"]] = (r["ms"], t, r.get("gflop"))

    theirs = {}
    spec = dict(threads=T, repeats=args.repeats, ops="ops" in tables, convs=[v for v, _ in convs])
    for label, py in anchors:
        rows, err = common.run_json([py, os.path.abspath(__file__), "--worker", json.dumps(spec)], env, what=label)
        if err:
            failures.append(f"{label}: {err}")
        for r in rows:
            threads_used.setdefault(label, set()).add(str(r["threads"]))
            theirs.setdefault(label, {})[r["name"]] = (r["ms"], r["threads"])
    for label, ts in threads_used.items():
        print(f"# threads used: {label}: {'; '.join(sorted(ts))}")
    labels = [l for l, _ in anchors]

    if "ops" in tables:
        print()
        heads = ["case", "facekit ms"] + [f"{l} ms (ratio)" for l in labels]
        print("| " + " | ".join(heads) + " |")
        print("| --- | " + " | ".join("---:" for _ in heads[1:]) + " |")
        for name in OPS:
            ms, t, _ = ours.get(name, (None, None, None))
            cells = [common.cell(theirs.get(l, {}).get(name, (None, None))[0], ms,
                                 theirs.get(l, {}).get(name, (None, None))[1], t) for l in labels]
            print("| " + " | ".join([name, f"{ms:.2f}" if ms else "-"] + cells) + " |")
    if convs:
        print()
        print("IR-50's 3x3 convolutions (pad 1; x in IR-50: how often one forward runs it). facekit: ops::conv2d,")
        print("the autograd op that training and the module path use; engine: the inference engine's FusedConv")
        print("on the blocked layout (Winograd where a model would use it), what eval-mode models run; the")
        print("ratios are PyTorch's time over the engine's:")
        print()
        heads = ["convolution", "x in IR-50", "GFLOP", "facekit ms", "facekit GFLOP/s", "% of FMA peak",
                 "engine ms", "engine GFLOP/s", "engine % of peak"] + [f"{l} ms (ratio to the engine)" for l in labels]
        print("| " + " | ".join(heads) + " |")
        print("| --- | " + " | ".join("---:" for _ in heads[1:]) + " |")
        for v, times in convs:
            name = conv_name(v)
            ms, t, gflop = ours.get(name, (None, None, None))
            rate = gflop / (ms / 1e3) if ms and gflop else None
            pct = f"{100 * rate / peak['gflops']:.0f} %" if rate and peak else "-"
            ems, et, _ = ours.get(name + " engine", (None, None, None))
            erate = gflop / (ems / 1e3) if ems and gflop else None
            epct = f"{100 * erate / peak['gflops']:.0f} %" if erate and peak else "-"
            cells = [common.cell(theirs.get(l, {}).get(name, (None, None))[0], ems,
                                 theirs.get(l, {}).get(name, (None, None))[1], et) for l in labels]
            row = [name, str(times), f"{gflop:.3f}" if gflop else "-", f"{ms:.2f}" if ms else "-",
                   f"{rate:.0f}" if rate else "-", pct, f"{ems:.2f}" if ems else "-",
                   f"{erate:.0f}" if erate else "-", epct] + cells
            print("| " + " | ".join(row) + " |")
    for f in failures:
        print("# FAILED: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_torch(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
