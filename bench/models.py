#!/usr/bin/env python3
"""Side-by-side inference benchmark: the forward time of zoo models (eval mode, no grad, full size) in
facekit and in the engines a user would pick instead, on the same weights, the same input and the same
number of threads:

  facekit            bench_models (in the --build folder)
  ONNX Runtime       the CPU provider, intra-op threads = --threads, inter-op 1, ORT_ENABLE_ALL, the
                     model exported to ONNX from its PyTorch twin (the venv of bench/setup-anchors.sh)
  PyTorch (newest)   the same venv: eager NCHW and channels_last (the faster one is shown, its layout
                     named), with --compile also torch.compile (its own column)
  PyTorch (Debian)   /usr/bin/python3 with python3-torch 1.13, eager NCHW

The PyTorch twins are the reference definitions of tests/fixtures/make_*.py (bench/torch_twins.py). One
Debian-torch subprocess makes every model's weights (torch.manual_seed(0), PyTorch's own initialisation,
saved as a .pt that bench_models loads), the inputs (numpy, seeded, uniform in [-1, 1): the first N
images of one batch of the largest size) and the model's GFLOP per image (2 x the multiply-adds of every
Conv2d and Linear, counted by forward hooks). Then each engine runs in its own subprocess (imports can't
interfere), sets its thread count after all its imports and reports the count it used; a ratio is
printed only when it equals facekit's (OpenMP, and OpenBLAS's when it differs). Times: the median of
--repeats runs after --warmup runs, ms per batch; the engines take turns --rounds times and the median
round is shown (the project machine is shared: a slow minute then hits every engine, not just one).
An anchor that is absent is skipped with the reason.

Columns: ms per batch; in brackets the other engine's time / facekit's (< 1: the other is faster);
facekit's GFLOP/s and its share of the FMA peak measured by bench_fma_peak on the same threads.
A second table gives each engine's peak resident memory (MiB) once its runs of a batch size are done:
run with --batches 8 for the peak of a batch-8 forward alone.

  python3 bench/models.py [--threads 2] [--repeats 7] [--warmup 2] [--rounds 3] [--batches 1,8,32] [--build build]
                          [--venv ~/.cache/facekit/anchors] [--compile] [--engines facekit,ort,torch,debian]
                          [arch ...]       (default: ir_50 iresnet50 resnet50_vggface2 inception_resnet_v1
                                            mobilefacenet; any zoo architecture by name)
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only)

DEFAULT_ARCHS = ["ir_50", "iresnet50", "resnet50_vggface2", "inception_resnet_v1", "mobilefacenet"]
ENGINES = ["facekit", "ort", "torch", "debian"]
INPUT_SEED = 20260601


# ---------------------------------------------------------------------------------------------- workers
# Each runs in its own subprocess: `python bench/models.py --worker KIND SPEC_JSON`, prints JSON lines.

def emit(**row):
    print(json.dumps(row), flush=True)


def peak_rss_mb():
    """this process's peak resident set so far, MiB (Linux reports KiB)"""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def twin_model(torch, torch_twins, arch, weights):
    model = torch_twins.TORCH[arch]()
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
    return model.eval()


class Outputs:  # a model's output as a tuple (the MTCNN twins return a dict), for the ONNX export
    @staticmethod
    def wrap(torch, model):
        class Flat(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                y = self.m(x)
                return tuple(y.values()) if isinstance(y, dict) else y
        return Flat(model).eval()


def worker_prepare(spec):
    """Weights, inputs and GFLOP per image of spec['arch'] (Debian's torch, or the venv's)."""
    import numpy as np
    import torch
    import torch_twins
    torch_twins.import_twins([spec["arch"]])
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    model = twin_model(torch, torch_twins, spec["arch"], None)
    torch.save(model.state_dict(), spec["weights"])
    c, h, w = spec["shape"]
    rng = np.random.default_rng(INPUT_SEED)
    big = rng.uniform(-1.0, 1.0, size=(max(spec["batches"]), c, h, w)).astype(np.float32)
    for b, path in zip(spec["batches"], spec["inputs"]):
        np.save(path, np.ascontiguousarray(big[:b]))
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            macs[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, torch.nn.Linear):
            macs[0] += out.numel() * m.in_features
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(torch.from_numpy(big[:1]))
    for hd in handles:
        hd.remove()
    emit(gflop_per_image=2 * macs[0] / 1e9, torch=torch.__version__)


def worker_export(spec):
    """The twin with spec['weights'] exported to ONNX at spec['onnx'], the batch axis dynamic: the
    TorchScript exporter (dynamo=False where the argument exists), opset spec['opset']."""
    import inspect
    import numpy as np
    import torch
    import torch_twins
    torch_twins.import_twins([spec["arch"]])
    torch.set_num_threads(spec["threads"])
    model = Outputs.wrap(torch, twin_model(torch, torch_twins, spec["arch"], spec["weights"]))
    x = torch.from_numpy(np.load(spec["input"]))
    with torch.no_grad():
        y = model(x)
    n_out = len(y) if isinstance(y, tuple) else 1
    names = [f"out{i}" for i in range(n_out)]
    kw = dict(input_names=["input"], output_names=names, opset_version=spec["opset"], do_constant_folding=True,
              dynamic_axes={k: {0: "batch"} for k in ["input"] + names})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), spec["onnx"], **kw)
    emit(exported=spec["onnx"], torch=torch.__version__, opset=spec["opset"])


def worker_torch(spec):
    """Eager (and compiled) forward times of the twin, per input and variant."""
    import copy
    import numpy as np
    import torch
    import torch_twins
    torch_twins.import_twins([spec["arch"]])
    torch.set_num_threads(spec["threads"])  # after every import
    model = twin_model(torch, torch_twins, spec["arch"], spec["weights"])
    xs = [(b, torch.from_numpy(np.load(p))) for b, p in zip(spec["batches"], spec["inputs"])]
    for variant in spec["variants"]:
        try:
            m = model
            if variant == "channels_last":
                m = copy.deepcopy(model).to(memory_format=torch.channels_last)
            elif variant == "compile":
                m = torch.compile(model, dynamic=False)  # one graph per batch size
            for b, x in xs:
                if variant == "channels_last":
                    x = x.contiguous(memory_format=torch.channels_last)
                t0 = time.perf_counter()
                with torch.no_grad():
                    m(x)  # compiles for this shape; the warm-up below then runs the compiled code
                    first_s = time.perf_counter() - t0
                    ms, ts = common.median_times(lambda: m(x), spec["repeats"], spec["warmup"])
                emit(engine="torch", variant=variant, batch=b, ms=ms, times=ts, first_s=first_s,
                     threads=torch.get_num_threads(), version=torch.__version__, rss_mb=peak_rss_mb())
        except Exception as e:  # one variant failing (a layout, the compiler) leaves the others
            emit(engine="torch", variant=variant, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")


def worker_ort(spec):
    """ONNX Runtime forward times of spec['onnx'], per input."""
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()  # threads set after the imports, through the session options
    so.intra_op_num_threads = spec["threads"]
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(spec["onnx"], so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for b, p in zip(spec["batches"], spec["inputs"]):
        x = np.load(p)
        ms, ts = common.median_times(lambda: sess.run(None, {name: x}), spec["repeats"], spec["warmup"])
        emit(engine="ort", batch=b, ms=ms, times=ts, threads=so.intra_op_num_threads,
             inter_op=so.inter_op_num_threads, providers=sess.get_providers(), version=ort.__version__,
             rss_mb=peak_rss_mb())


WORKERS = {"prepare": worker_prepare, "export": worker_export, "torch": worker_torch, "ort": worker_ort}


# ---------------------------------------------------------------------------------------------- driver

def worker(python, kind, spec, env, timeout=None):
    return common.run_json([python, os.path.abspath(__file__), "--worker", kind, json.dumps(spec)], env,
                           timeout=timeout, what=f"{kind} ({python})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per case; the median is shown (>= 7)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs before them")
    ap.add_argument("--rounds", type=int, default=3,
                    help="times every engine runs, in turn; the median round is shown (default 3)")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--build", default="build", help="facekit build folder holding bench_models, bench_fma_peak")
    ap.add_argument("--venv", default=common.DEFAULT_VENV, help="the anchors venv (bench/setup-anchors.sh)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="a subset of " + ",".join(ENGINES))
    ap.add_argument("--compile", action="store_true", help="also torch.compile (newest PyTorch)")
    ap.add_argument("--compile-timeout", type=int, default=900, help="seconds for one model's compiled runs")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset of the export")
    ap.add_argument("--keep", help="keep the weights, inputs and ONNX files in this folder")
    ap.add_argument("arch", nargs="*", help="architectures (default: %s)" % " ".join(DEFAULT_ARCHS))
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown or "facekit" not in engines:
        sys.exit(f"bench/models.py: --engines must include facekit and name only {', '.join(ENGINES)}")
    env = common.thread_env(args.threads)
    T = args.threads

    exe = os.path.join(args.build, "bench_models")
    if not os.path.exists(exe):
        sys.exit(f"bench/models.py: {exe} not found: build first (cmake --build {args.build} --target bench_models)")
    shapes = {r["name"]: r["input"] for r in common.run_json([exe, "--list"], env)[0]}
    archs = args.arch or DEFAULT_ARCHS
    for a in archs:
        if a not in shapes:
            sys.exit(f"bench/models.py: unknown architecture {a} (known: {', '.join(shapes)})")

    # ---- the anchors present
    skipped = []
    deb_version, why = common.python_with(common.DEBIAN_PYTHON, ["torch", "torchvision"])
    venv_py = common.venv_python(args.venv)
    new_version, why_new = common.python_with(venv_py, ["torch", "torchvision"])
    ort_version, why_ort = common.python_with(venv_py, ["onnxruntime", "numpy"])
    have = {"facekit": True, "debian": deb_version is not None, "torch": new_version is not None,
            "ort": ort_version is not None}
    if "debian" in engines and not have["debian"]:
        skipped.append(f"PyTorch (Debian): skipped: {why} (bash scripts/install-deps.sh --torch)")
    if "torch" in engines and not have["torch"]:
        skipped.append(f"PyTorch (newest): skipped: {why_new} (bash bench/setup-anchors.sh)")
    if "ort" in engines and not have["ort"]:
        skipped.append(f"ONNX Runtime: skipped: {why_ort} (bash bench/setup-anchors.sh)")
    if args.compile and not have["torch"]:
        skipped.append("torch.compile: skipped: no newest PyTorch")
    prep_py = common.DEBIAN_PYTHON if have["debian"] else venv_py if have["torch"] else None
    if prep_py is None:
        sys.exit("bench/models.py: no PyTorch at all (neither Debian's python3-torch nor the anchors venv): "
                 "the weights and inputs are made by the PyTorch twins")
    engines = [e for e in engines if have[e]]
    peak, why_peak = common.fma_peak(args.build, T, env)

    print(common.header(T, f"eval, no grad, median of {args.repeats} after {args.warmup} warm-up, median of {args.rounds} "
                                f"rounds, ms per batch"))
    if args.repeats < 7:
        print(f"# NOTE: {args.repeats} repeats (< 7): a smoke run, not a measurement")
    print("\n".join(common.peak_lines(peak, why_peak)))
    for s in skipped:
        print("# " + s)
    sys.stdout.flush()

    tmp = tempfile.TemporaryDirectory(prefix="fk-bench-models-") if not args.keep else None
    work = args.keep or tmp.name
    os.makedirs(work, exist_ok=True)
    results, threads_seen, versions, failures, rss_rows = [], {}, {}, [], []
    for arch in archs:
        c, h, w = shapes[arch]
        if not h:  # PNet takes any size: a 640x480 photo's first pyramid level, as bench_models
            h, w = 288, 384
        spec = dict(arch=arch, threads=T, shape=[c, h, w], batches=batches, repeats=args.repeats, warmup=args.warmup,
                    weights=os.path.join(work, arch + ".pt"),
                    inputs=[os.path.join(work, f"{arch}_b{b}.npy") for b in batches])
        rows, err = worker(prep_py, "prepare", spec, env)
        if err or not rows:
            failures.append(f"{arch}: preparing weights and inputs: {err}")
            continue
        gflop = rows[-1]["gflop_per_image"]
        samples = {}  # (engine, batch) -> [(ms, threads, note)], one per round
        rss = {}  # (engine, batch) -> peak RSS (MiB) of the engine's process once that batch has run

        def record(key, value):
            samples.setdefault(key, []).append(value)

        def good_rows(rows, err, label, by_variant=False):
            """The rows of a worker run without an error; the run's error and each row's go to failures."""
            if err:
                failures.append(f"{arch}: {label}: {err}")
            for r in rows:
                if "error" in r:
                    failures.append(f"{arch}: {label}{' ' + r['variant'] if by_variant else ''}: {r['error']}")
                else:
                    yield r

        # ONNX Runtime runs the twin exported once by the newest torch (else Debian's)
        onnx_path = None
        if "ort" in engines:
            onnx_path = os.path.join(work, arch + ".onnx")
            ex = dict(spec, onnx=onnx_path, input=spec["inputs"][0], opset=args.opset)
            exported, errs = None, []
            for py in ([venv_py] if have["torch"] else []) + ([common.DEBIAN_PYTHON] if have["debian"] else []):
                rows, err = worker(py, "export", ex, env)
                if not err and rows:
                    exported = rows[-1]
                    break
                errs.append(f"{arch}: ONNX export with {py}: {err}")
            if not exported:
                failures += errs
                onnx_path = None
            else:
                versions["ort_export"] = f"exported by torch {exported['torch']}, opset {exported['opset']}"

        # the engines one after the other, --rounds times (a noisy machine's slow minute then hits every
        # engine alike); each (engine, batch) keeps the median of its rounds
        for _ in range(args.rounds):
            fk_cmd = [exe, "--arch", arch, "--weights", spec["weights"], "--repeats", str(args.repeats),
                      "--warmup", str(args.warmup)] + sum([["--input", p] for p in spec["inputs"]], [])
            rows, err = common.run_json(fk_cmd, env, what="bench_models")
            if err:
                failures.append(f"{arch}: facekit: {err}")
            for r in rows:
                t, used = common.facekit_threads(r)
                threads_seen.setdefault("facekit", set()).add(used)
                record(("facekit", r["batch"]), (r["ms"], t, ""))
                rss[("facekit", r["batch"])] = r.get("rss_mb")

            if onnx_path:
                rows, err = worker(venv_py, "ort", dict(spec, onnx=onnx_path), env)
                for r in good_rows(rows, err, "ONNX Runtime"):
                    threads_seen.setdefault("ort", set()).add(f"intra-op {r['threads']}, inter-op {r['inter_op']}")
                    versions["ort"] = r["version"]
                    record(("ort", r["batch"]), (r["ms"], r["threads"], ""))
                    rss[("ort", r["batch"])] = r.get("rss_mb")

            # the newest PyTorch: eager in both layouts (the faster shown), then torch.compile
            if "torch" in engines:
                rows, err = worker(venv_py, "torch", dict(spec, variants=["nchw", "channels_last"]), env)
                best = {}
                for r in good_rows(rows, err, "PyTorch (newest)", by_variant=True):
                    threads_seen.setdefault("torch", set()).add(str(r["threads"]))
                    versions["torch"] = r["version"]
                    if r["variant"] == "nchw":  # the first variant: its peak is not the other's
                        rss[("torch", r["batch"])] = r.get("rss_mb")
                    if r["batch"] not in best or r["ms"] < best[r["batch"]][0]:
                        best[r["batch"]] = (r["ms"], r["threads"], "NCHW" if r["variant"] == "nchw" else "NHWC")
                for b, v in best.items():
                    record(("torch", b), v)
                if args.compile:
                    rows, err = worker(venv_py, "torch", dict(spec, variants=["compile"]), env,
                                       timeout=args.compile_timeout)
                    for r in good_rows(rows, err, "torch.compile"):
                        record(("compile", r["batch"]), (r["ms"], r["threads"], f"compiled in {r['first_s']:.0f} s"))

            # Debian's PyTorch 1.13
            if "debian" in engines:
                rows, err = worker(common.DEBIAN_PYTHON, "torch", dict(spec, variants=["nchw"]), env)
                for r in good_rows(rows, err, "PyTorch (Debian)"):
                    threads_seen.setdefault("debian", set()).add(str(r["threads"]))
                    versions["debian"] = r["version"]
                    record(("debian", r["batch"]), (r["ms"], r["threads"], ""))
                    rss[("debian", r["batch"])] = r.get("rss_mb")
        times = {k: sorted(v)[(len(v) - 1) // 2] for k, v in samples.items()}  # (lower) median of the rounds
        for b in batches:
            results.append((arch, b, gflop, times))
        rss_rows.append((arch, rss))
        print(f"# {arch} done", file=sys.stderr, flush=True)

    # ---- the table
    cols = [("ort", f"ONNX Runtime {versions.get('ort', '')}".strip())] if "ort" in engines else []
    if "torch" in engines:
        cols.append(("torch", f"PyTorch {versions.get('torch', '')} (best layout)"))
        if args.compile:
            cols.append(("compile", f"PyTorch {versions.get('torch', '')} compile"))
    if "debian" in engines:
        cols.append(("debian", f"PyTorch {versions.get('debian', '')} (Debian)"))
    for key, label in [("facekit", "facekit"), ("ort", "ONNX Runtime"), ("torch", "PyTorch (newest)"),
                       ("debian", "PyTorch (Debian)")]:
        if key in threads_seen:
            print(f"# threads used: {label}: {'; '.join(sorted(threads_seen[key]))}")
    odd = sorted({f"{k} {v[1]}" for (k, _), v in (kv for *_, t in results for kv in t.items()) if v[1] != T})
    if odd:
        print(f"# NOTE: asked for {T} threads, but these ran on other counts: {', '.join(odd)}")
    if "ort_export" in versions:
        print(f"# ONNX Runtime: CPU provider, ORT_ENABLE_ALL, sequential; model {versions['ort_export']}")
    print()
    heads = ["model", "batch", "GFLOP/image", "facekit"] + [l for _, l in cols] + ["facekit GFLOP/s", "% of FMA peak"]
    print("| " + " | ".join(heads) + " |")
    print("| --- | " + " | ".join("---:" for _ in heads[1:]) + " |")
    for arch, b, gflop, times in results:
        fk = times.get(("facekit", b))
        fk_ms, fk_t = (fk[0], fk[1]) if fk else (None, None)
        cells = []
        for key, _ in cols:
            v = times.get((key, b))
            if v is None:
                cells.append("-")
                continue
            s = common.cell(v[0], fk_ms, v[1], fk_t)
            cells.append(s + (f" {v[2]}" if v[2] else ""))
        rate = gflop * b / (fk_ms / 1e3) if fk_ms else None
        pct = f"{100 * rate / peak['gflops']:.0f} %" if rate and peak else "-"
        row = [arch, str(b), f"{gflop:.2f}", f"{fk_ms:.1f}" if fk_ms else "-"] + cells \
            + [f"{rate:.0f}" if rate else "-", pct]
        print("| " + " | ".join(row) + " |")
    print()
    print(f"Peak RSS (MiB) of each engine's process once its batch-b runs are done (batches run in the order "
          f"{','.join(map(str, batches))}; PyTorch (newest): its NCHW runs, which come first):")
    print()
    rss_cols = [k for k in ["facekit", "ort", "torch", "debian"] if k == "facekit" or k in engines]
    print("| model | batch | " + " | ".join(rss_cols) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in rss_cols) + " |")
    for arch, rss in rss_rows:
        for b in batches:
            vals = [rss.get((k, b)) for k in rss_cols]
            print(f"| {arch} | {b} | " + " | ".join("-" if v is None else f"{v:.0f}" for v in vals) + " |")
    for f in failures:
        print("# FAILED: " + f)
    if tmp:
        tmp.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        WORKERS[sys.argv[2]](json.loads(sys.argv[3]))
    else:
        sys.exit(main())
