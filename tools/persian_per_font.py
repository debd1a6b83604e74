#!/usr/bin/env python3
"""CER per font of `ocrtune eval` predictions on a synthesized split (issue #22's per-font figures).

    python3 tools/persian_per_font.py --data .demo/fa-heldout runs/X/eval-heldout/predictions.jsonl ...

Reads the split's parquet (image path -> the synth params' font) and sums character edits over
reference characters per font. Needs pyarrow (.deps/python from tools/setup.sh).
"""
import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".deps", "python"))
import pyarrow.parquet as pq  # noqa: E402


def fonts_of(data):
    fonts = {}
    for path in glob.glob(os.path.join(data, "*.parquet")):
        for row in pq.read_table(path, columns=["image", "params"]).to_pylist():
            fonts[row["image"]["path"]] = json.loads(row["params"] or "{}").get("font")
    return fonts


def per_font(predictions, fonts):
    sums = {}
    with open(predictions) as f:
        for line in f:
            p = json.loads(line)
            s = sums.setdefault(fonts.get(p["id"], "?"), [0, 0])
            s[0] += p["character_edits"]
            s[1] += p["reference_characters"]
    return {font: round(e / n, 4) for font, (e, n) in sorted(sums.items())}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("predictions", nargs="+")
    args = ap.parse_args()
    fonts = fonts_of(args.data)
    for p in args.predictions:
        print(p, json.dumps(per_font(p, fonts), ensure_ascii=False))
