"""What the side-by-side benchmarks (bench/models.py, ops.py, train.py) share: the header line, the
thread environment of the engine subprocesses, where the anchors live (Debian's PyTorch, the venv of
bench/setup-anchors.sh), the measured FMA peak, and the rule that a ratio is printed only between
engines that used the same number of threads. Standard library only: the benchmark processes
themselves import no engine; each engine runs in its own subprocess."""
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEBIAN_PYTHON = "/usr/bin/python3"
DEFAULT_VENV = os.environ.get("FK_ANCHORS") or os.path.expanduser("~/.cache/facekit/anchors")


def machine():
    """lscpu's model name (platform.processor() is empty on Linux)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown CPU"


def header(threads, extra=""):
    """'# <CPU>, <n> cores, <date>, <threads> threads[, extra]' and '# command: ...'"""
    line = f"# {machine()}, {os.cpu_count()} cores, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, " \
           f"load average {os.getloadavg()[0]:.1f}, {threads} threads{', ' + extra if extra else ''}"
    return line + "\n# command: " + shlex.join([sys.executable or "python3"] + sys.argv)


def thread_env(threads):
    """The environment of every engine subprocess: the thread count for OpenMP, OpenBLAS and MKL (each
    engine still sets its own count after its imports and reports what it used)."""
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    return env


def python_with(python, modules):
    """(version string, None) when `python` imports every module of `modules` (the first one's
    __version__), else (None, why)."""
    if not os.path.exists(python):
        return None, f"{python} not found"
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\n" \
           "print(importlib.import_module(sys.argv[1]).__version__)"
    try:
        r = subprocess.run([python, "-c", code] + list(modules), capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None, f"{python}: importing {', '.join(modules)} took over 300 s"
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        return None, f"{python} cannot import {', '.join(modules)}: {last}"
    return r.stdout.strip().splitlines()[-1], None


def venv_python(venv):
    return os.path.join(venv, "bin", "python")


def run_json(cmd, env, timeout=None, what=""):
    """Runs cmd; returns (the JSON objects of the stdout lines that start with '{', None) or
    (objects so far, why it failed)."""
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return [json.loads(l) for l in out.splitlines() if l.startswith("{")], f"{what or cmd[0]}: over {timeout} s"
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0:
        tail = " | ".join(r.stderr.strip().splitlines()[-3:]) or f"exit code {r.returncode}"
        return rows, f"{what or cmd[0]} failed: {tail}"
    return rows, None


def fma_peak(build, threads, env):
    """(bench_fma_peak's result on `threads` threads, None) or (None, why). The result gets
    "one_thread" (GFLOP/s of one thread alone) and "busy" (a warning when each of the threads got
    less than 85 % of that: other work on the cores, so the peak and the timings are too low)."""
    exe = os.path.join(build, "bench_fma_peak")
    if not os.path.exists(exe):
        return None, f"{exe} not found (cmake --build {build} --target bench_fma_peak)"
    rows, err = run_json([exe, str(threads)], env, timeout=120, what="bench_fma_peak")
    one, err1 = run_json([exe, "1"], env, timeout=120, what="bench_fma_peak")
    if err or err1 or not rows or not one:
        return None, err or err1 or "bench_fma_peak printed nothing"
    peak = dict(rows[-1], one_thread=one[-1]["gflops"], busy="")
    if peak["gflops_per_thread"] < 0.85 * peak["one_thread"]:
        peak["busy"] = (f"WARNING: {threads} threads reach {peak['gflops_per_thread']:.0f} GFLOP/s each, one thread "
                        f"alone {peak['one_thread']:.0f}: the cores are busy with other work (load average "
                        f"{os.getloadavg()[0]:.1f}); every number below is suspect")
    return peak, None


def peak_lines(peak, why):
    """The header lines of the FMA peak."""
    if not peak:
        return [f"# FMA peak: not measured: {why}"]
    lines = [f"# FMA peak (bench_fma_peak, {peak['isa']}, {peak['threads']} threads): {peak['gflops']:.1f} GFLOP/s "
             f"({peak['gflops_per_thread']:.1f} per thread; one thread alone {peak['one_thread']:.1f})"]
    return lines + ([f"# {peak['busy']}"] if peak["busy"] else [])


def median_times(fn, repeats, warmup):
    """fn run `warmup` times, then timed `repeats` times: (median ms, every time in ms)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts), ts


def facekit_threads(row):
    """From a bench_* JSON line: (the thread cell of the table, the line for 'threads used')."""
    t, blas = row["threads"], row["blas_threads"]
    cell_threads = t if blas in (-1, t) else f"{t}/BLAS {blas}"
    return cell_threads, f"OpenMP {t}" + (f", OpenBLAS {blas}" if blas != -1 else "")


def same_threads(a, b):
    return a is not None and b is not None and a == b


def cell(ms, ms_ref, threads, threads_ref):
    """'42.0 (0.53)': ms and, in brackets, ms / ms_ref, only when both sides used the same threads;
    otherwise the thread counts instead of a ratio."""
    if ms is None:
        return "-"
    if ms_ref is None:
        return f"{ms:.1f}"
    if not same_threads(threads, threads_ref):
        return f"{ms:.1f} (threads {threads} vs {threads_ref}: no ratio)"
    return f"{ms:.1f} ({ms / ms_ref:.2f})"
