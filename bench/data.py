#!/usr/bin/env python3
"""Datasets benchmark: `data build` throughput and memory, loader throughput.

- build: DataBench generates COUNT distinct 96x32 PNG lines, then builds a dataset from the
  listing in-process: images/s and peak RSS; again at SCALE x COUNT to show memory stays flat
  (target < 500 MB at both sizes).
- peer: the same listing through Python (Pillow decode + verify, sha256, pyarrow Parquet write
  with snappy), measured in the same run when the peer interpreter has Pillow and pyarrow
  (--peer-python; pip install pillow pyarrow in a venv). Ratio = ocrtune / peer images/s.
- loader: the built train split read into memory and every image decoded (the path training
  and evaluation take), samples/s.

Writes bench/results/data.json. Usage:
  python3 bench/data.py [--count 20000] [--scale 10] [--peer-python /tmp/venv/bin/python]
Needs .build/release/DataBench (swift build -c release --product DataBench).
"""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("OCRTUNE_DATABENCH", os.path.join(ROOT, ".build", "release", "DataBench"))

PEER = r'''
import hashlib, io, json, os, resource, sys, time
from PIL import Image
import pyarrow as pa, pyarrow.parquet as pq
listing, out = sys.argv[1], sys.argv[2]
base = os.path.dirname(listing)
t = time.perf_counter()
rows, seen = [], set()
for line in open(listing, encoding="utf-8"):
    path, _, text = line.rstrip("\n").partition(" ")
    data = open(os.path.join(base, path), "rb").read()
    im = Image.open(io.BytesIO(data)); im.load(); im = im.convert("RGB")
    if min(im.size) < 8 or not text.strip():
        continue
    h = hashlib.sha256(data).hexdigest()
    if h in seen:
        continue
    seen.add(h)
    rows.append(({"bytes": data, "path": path}, text.strip()))
table = pa.table({"image": pa.array([r[0] for r in rows]), "text": [r[1] for r in rows]})
pq.write_table(table, out, compression="snappy", row_group_size=256)
s = time.perf_counter() - t
print(json.dumps({"images_per_s": len(rows) / s, "seconds": s,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def run_json(cmd, **kw):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--peer-python", default=sys.executable)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"missing {BENCH}: swift build -c release --product DataBench")
    work = args.workdir or tempfile.mkdtemp(prefix="ocrtune-databench-")
    result = {"benchmark": "data", "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
              "image": "96x32 PNG text line", "count": args.count, "scale": args.scale}
    try:
        small = os.path.join(work, "small")
        run_json([BENCH, "gen", str(args.count), small])
        build = run_json([BENCH, "build", os.path.join(small, "listing.txt"), os.path.join(work, "ds-small")])
        result["build_images_per_s"] = round(build["images_per_s"], 1)
        result["build_peak_rss_mb"] = round(build["peak_rss_mb"], 1)

        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, ".deps", "python"), os.path.join(ROOT, ".deps", "bench")]))
        try:
            peer = run_json([args.peer_python, "-c", PEER, os.path.join(small, "listing.txt"), os.path.join(work, "peer.parquet")], env=env)
            result["peer_python_images_per_s"] = round(peer["images_per_s"], 1)
            result["build_vs_peer_ratio"] = round(build["images_per_s"] / peer["images_per_s"], 3)
        except subprocess.CalledProcessError as e:
            result["peer_python_images_per_s"] = None
            result["peer_note"] = "peer skipped: " + (e.stderr.strip().splitlines() or ["failed"])[-1]

        load = run_json([BENCH, "load", os.path.join(work, "ds-small")])
        result["loader_samples_per_s"] = round(load["samples_per_s"], 1)
        result["loader_peak_rss_mb"] = round(load["peak_rss_mb"], 1)

        if args.scale > 1:
            shutil.rmtree(small, ignore_errors=True)
            large = os.path.join(work, "large")
            run_json([BENCH, "gen", str(args.count * args.scale), large])
            big = run_json([BENCH, "build", os.path.join(large, "listing.txt"), os.path.join(work, "ds-large")])
            result["build_large_images_per_s"] = round(big["images_per_s"], 1)
            result["build_large_peak_rss_mb"] = round(big["peak_rss_mb"], 1)
            result["memory_growth_ratio"] = round(big["peak_rss_mb"] / build["peak_rss_mb"], 3)
        result["memory_target_mb"] = 500
        peaks = [result.get("build_peak_rss_mb", 0), result.get("build_large_peak_rss_mb", 0)]
        result["targets_met"] = max(peaks) < 500
        result["notes"] = "ratio > 1: ocrtune faster than the Python peer; memory_growth_ratio: peak RSS at scale x count / at count"
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", "data.json")
    json.dump(result, open(path, "w"), indent=2, sort_keys=True)
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
