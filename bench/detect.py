#!/usr/bin/env python3
"""Side-by-side benchmark: MTCNN face detection (default parameters: min face 20, thresholds
0.6/0.7/0.7, factor 0.709) in facekit (bench_detect) and in facenet-pytorch's MTCNN (its published
wheel, run on Debian's python3-torch), same photos, same threads.

  /usr/bin/python3 bench/detect.py [--threads 2] [--repeats 10] [--rounds 3] [--build build]
      [--sizes 640x480,1920x1080,160x160] [--weights DIR] [--photo ../shared/data/faces/multiface.jpg]
      [--wheel facenet_pytorch-2.6.0-py3-none-any.whl]

The photo is resized to each size with PIL and saved as a PNG that both sides read. torch's threads are
set after every import and printed as torch reports them, facekit's as OpenMP reports them. The two
sides take turns --rounds times (facekit in a subprocess, facenet-pytorch in this process); each shows
the median of its rounds' medians (ms per photo), then the ratio facenet-pytorch / facekit (> 1:
facekit is faster) and whether both found the same faces (count, and the largest box-corner
difference in pixels after matching each facekit box to its nearest facenet-pytorch box).
"""
import argparse, glob, json, os, platform, statistics, subprocess, sys, tempfile, time, types, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=10)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--build", default="build")
ap.add_argument("--sizes", default="640x480,1920x1080,160x160")
ap.add_argument("--weights", default=os.path.join(HERE, "..", "..", "shared", "data", "mtcnn"))
ap.add_argument("--photo", default=os.path.join(HERE, "..", "..", "shared", "data", "faces", "multiface.jpg"))
ap.add_argument("--wheel", help="facenet-pytorch wheel (downloaded with pip when absent)")
args = ap.parse_args()

os.environ.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
from PIL import Image  # noqa: E402

tmp = tempfile.mkdtemp()
sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",") if s]
photos = []
for w, h in sizes:
    p = os.path.join(tmp, f"photo_{w}x{h}.png")
    Image.open(args.photo).convert("RGB").resize((w, h), Image.BILINEAR).save(p)
    photos.append(p)

exe = os.path.join(args.build, "bench_detect")
if not os.path.exists(exe):
    sys.exit(f"bench/detect.py: {exe} not found: build first (cmake --build {args.build})")

wheel = args.wheel
if not wheel:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "facenet-pytorch==2.6.0", "-d", tmp],
                   check=True)
    wheel = glob.glob(os.path.join(tmp, "facenet_pytorch-*.whl"))[0]
zipfile.ZipFile(wheel).extractall(tmp)
sys.path.insert(0, tmp)
sys.modules.setdefault("tqdm", types.SimpleNamespace(tqdm=None))  # only its downloader needs tqdm
import torch  # noqa: E402
from facenet_pytorch import MTCNN  # noqa: E402

torch.set_num_threads(args.threads)  # after every import
mtcnn = MTCNN()
imgs = [Image.open(p).convert("RGB") for p in photos]
their_boxes = []
for img in imgs:  # warm-up, and the faces to compare
    boxes, probs = mtcnn.detect(img)
    their_boxes.append([] if boxes is None else boxes.tolist())

ours_ms = {p: [] for p in photos}
theirs_ms = {p: [] for p in photos}
ours_rows = {}
for _ in range(args.rounds):
    out = subprocess.run([exe, args.weights, str(args.repeats)] + photos, env=dict(os.environ), check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        r = json.loads(line)
        ours_rows[r["image"]] = r
        ours_ms[r["image"]].append(r["ms"])
    for p, img in zip(photos, imgs):
        ts = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            mtcnn.detect(img)
            ts.append((time.perf_counter() - t) * 1e3)
        theirs_ms[p].append(statistics.median(ts))


def box_gap(ours, theirs):
    """largest |corner difference| after matching each of our boxes to the nearest of theirs"""
    if not ours or not theirs:
        return 0.0
    return max(min(max(abs(a - b) for a, b in zip(o[:4], t[:4])) for t in theirs) for o in ours)


fk_threads = sorted({r["threads"] for r in ours_rows.values()})
print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
      f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
print(f"# command: {' '.join([sys.executable] + sys.argv)}")
print(f"# threads used: facekit OpenMP {', '.join(map(str, fk_threads))}; facenet-pytorch (torch "
      f"{torch.__version__}) {torch.get_num_threads()}; median of {args.repeats} after a warm-up, median of "
      f"{args.rounds} rounds, ms per photo")
print()
print("| photo | facekit | facenet-pytorch 2.6.0 | ratio | faces (facekit / facenet-pytorch) | largest box difference (px) |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for (w, h), p, theirs in zip(sizes, photos, their_boxes):
    r = ours_rows[p]
    a, b = statistics.median(ours_ms[p]), statistics.median(theirs_ms[p])
    ratio = f"{b / a:.2f}" if fk_threads == [torch.get_num_threads()] else "(threads differ)"
    print(f"| multiface.jpg at {w}x{h} | {a:.1f} | {b:.1f} | {ratio} | {r['faces']} / {len(theirs)} | "
          f"{box_gap(r['boxes'], theirs):.2f} |")
