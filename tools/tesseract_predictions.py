#!/usr/bin/env python3
"""Tesseract as a peer: read one split of an ocrtune dataset line by line and write the
predictions in the form `ocrtune eval --model external:PRED.jsonl --data DATASET` takes.

    python3 tools/tesseract_predictions.py --data .demo/fa-heldout --split test --lang fas \
        --out runs/demo-persian/tesseract-heldout.jsonl

Each line image goes to `tesseract stdin stdout -l LANG --psm 7` (one text line) as stored in the
dataset (no resizing, no preprocessing: the stock model as a user would call it). Ids follow
`ocrtune eval`'s rule (the image path the dataset stores, else the split position; the position
when paths repeat), so eval joins them with the dataset's references. Reads the Parquet shards with
pyarrow (from .deps/python when it is not importable).
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_pyarrow():
    try:
        import pyarrow.parquet as pq  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, ".deps", "python"))
    import pyarrow.parquet as pq
    return pq


def load_split(folder, split):
    pq = import_pyarrow()
    shards = sorted(f for f in os.listdir(folder) if f.startswith(f"{split}-") and f.endswith(".parquet"))
    if not shards:
        sys.exit(f"{folder}: no {split} split (expected {split}-*.parquet)")
    rows = []
    for shard in shards:
        table = pq.read_table(os.path.join(folder, shard), columns=["image", "text"])
        for image, text in zip(table.column("image").to_pylist(), table.column("text").to_pylist()):
            rows.append((image.get("path"), image["bytes"], text))
    ids = [path if path else f"{split}-{i}" for i, (path, _, _) in enumerate(rows)]
    if len(set(ids)) != len(ids):
        ids = [f"{split}-{i}" for i in range(len(rows))]
    return [(i, b, t) for i, (_, b, t) in zip(ids, rows)]


def read_line(image_bytes, lang, psm):
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    out = subprocess.run(["tesseract", "stdin", "stdout", "-l", lang, "--psm", str(psm)],
                         input=image_bytes, capture_output=True, env=env, check=False)
    if out.returncode != 0:
        sys.exit(f"tesseract failed: {out.stderr.decode(errors='replace').strip()}")
    return " ".join(out.stdout.decode("utf-8", errors="replace").split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder (as `ocrtune data synth/build` write it)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--lang", default="fas")
    ap.add_argument("--psm", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    samples = load_split(args.data, args.split)
    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        predictions = list(pool.map(lambda s: read_line(s[1], args.lang, args.psm), samples))
    seconds = time.time() - start
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for (sid, _, text), prediction in zip(samples, predictions):
            f.write(json.dumps({"id": sid, "reference": text, "prediction": prediction}, ensure_ascii=False) + "\n")
    print(f"tesseract -l {args.lang} --psm {args.psm}: {len(samples)} lines in {seconds:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
