#!/usr/bin/env python3
"""Side-by-side benchmark: MTCNN face detection on a 640x480 photo (default parameters: min face 20,
thresholds 0.6/0.7/0.7, factor 0.709) in facekit (bench_detect) and in facenet-pytorch's MTCNN (run
from its published wheel on Debian's python3-torch), same threads, one run. Prints both times and the
ratio (facenet-pytorch / facekit: > 1 means facekit is faster).

  /usr/bin/python3 bench/detect.py [--threads 2] [--repeats 10] [--build build] [--weights DIR]
      [--photo ../shared/data/faces/multiface.jpg] [--wheel facenet_pytorch-2.6.0-py3-none-any.whl]

The photo is resized to 640x480 with PIL and saved as a PNG that both sides read.
"""
import argparse, glob, json, os, platform, statistics, subprocess, sys, tempfile, time, types, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=10)
ap.add_argument("--build", default="build")
ap.add_argument("--weights", default=os.path.join(HERE, "..", "..", "shared", "data", "mtcnn"))
ap.add_argument("--photo", default=os.path.join(HERE, "..", "..", "shared", "data", "faces", "multiface.jpg"))
ap.add_argument("--wheel", help="facenet-pytorch wheel (downloaded with pip when absent)")
args = ap.parse_args()

os.environ.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
from PIL import Image  # noqa: E402

tmp = tempfile.mkdtemp()
photo = os.path.join(tmp, "photo_640x480.png")
Image.open(args.photo).convert("RGB").resize((640, 480), Image.BILINEAR).save(photo)

exe = os.path.join(args.build, "bench_detect")
if not os.path.exists(exe):
    sys.exit(f"bench/detect.py: {exe} not found: build first (cmake --build {args.build})")
ours = json.loads(subprocess.run([exe, args.weights, photo, str(args.repeats)], env=dict(os.environ), check=True,
                                 capture_output=True, text=True).stdout)

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

torch.set_num_threads(args.threads)
mtcnn = MTCNN()
img = Image.open(photo).convert("RGB")
boxes, _ = mtcnn.detect(img)
ts = []
for _ in range(args.repeats):
    t = time.perf_counter(); mtcnn.detect(img); ts.append((time.perf_counter() - t) * 1e3)
theirs = statistics.median(ts)

print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, "
      f"median of {args.repeats}")
print(f"MTCNN detect 640x480: facekit {ours['ms']:.1f} ms ({ours['faces']} faces), facenet-pytorch {theirs:.1f} ms "
      f"({0 if boxes is None else len(boxes)} faces), ratio {theirs / ours['ms']:.2f}")
