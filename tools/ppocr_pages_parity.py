#!/usr/bin/env python3
"""Parity of ocrtune's page pipeline (PP-OCRv6 DB detector + PP-OCRv6 recognizer) with RapidOCR's.

Synthesizes N document pages with `ocrtune data synth` (receipts, invoices and forms in turn),
imports PP-OCRv6_det_small.onnx and PP-OCRv6_rec_small.onnx (rapidocr 3.10, from set-up), and
reads every page with `ocrtune predict --detector` and with RapidOCR (onnxruntime, the same
two models, no angle classifier). Each line is recognized alone on both sides (RapidOCR
rec_batch_num 1, ours --batch-size 1) so batch padding plays no part.

Checks, per page: the same number of lines; each of our boxes has IoU >= 0.95 with RapidOCR's
box at the same reading-order position; the same text for each line.

Usage: tools/ppocr_pages_parity.py [--pages 50] [--work DIR] [--json bench/results/pages_parity.json]
Needs: set-up's weights (.deps/python/rapidocr/models), ocrtune built (release preferred,
$OCRTUNE_BIN to override), a Python with rapidocr 3.10 and its dependencies (onnxruntime,
opencv, shapely, pyclipper; e.g. /work/torchvenv). The boxes are compared against
opencv-python-headless 5.0.0.93 (bench/requirements.txt's pin; minAreaRect's hull order, caliper
choice and angle range changed between OpenCV 4 and 5, and a box's corners follow them).
"""
import argparse
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pyclipper
import shapely

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppocr_common as pc  # noqa: E402

MODELS = os.path.join(pc.DEPS, "rapidocr", "models")
TEMPLATES = ("receipt", "invoice", "form")


def ocrtune_binary():
    env = os.environ.get("OCRTUNE_BIN")
    if env:
        return env
    for config in ("release", "debug"):
        p = os.path.join(pc.ROOT, ".build", config, "ocrtune")
        if os.path.exists(p):
            return p
    raise SystemExit("build ocrtune first: swift build -c release --product ocrtune")


def synthesize(work, count, seed, binary):
    """`count` pages, the templates in turn; returns their paths."""
    paths = []
    per = [count // 3 + (1 if i < count % 3 else 0) for i in range(3)]
    for template, n in zip(TEMPLATES, per):
        out = os.path.join(work, "pages", template)
        subprocess.run([binary, "data", "synth", "--template", template, "--count", str(n), "--seed", str(seed), "--listing",
                        "--out", out, "--overwrite"], check=True, capture_output=True)
        paths += [os.path.join(out, "images", f) for f in sorted(os.listdir(os.path.join(out, "images")))]
    return paths


def import_models(work, binary):
    out = {}
    for kind, name in (("det", "PP-OCRv6_det_small.onnx"), ("rec", "PP-OCRv6_rec_small.onnx")):
        folder = os.path.join(work, "models", f"ppocrv6-{kind}")
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            subprocess.run([binary, "import", "ppocr", "--onnx", os.path.join(MODELS, name), "--out", folder], check=True,
                           capture_output=True)
        out[kind] = folder
    return out


def rapidocr_engine(batch=1):
    from rapidocr import RapidOCR

    return RapidOCR(params={
        "Global.use_cls": False, "Global.log_level": "error", "Rec.rec_batch_num": batch,
        "Det.model_path": os.path.join(MODELS, "PP-OCRv6_det_small.onnx"),
        "Rec.model_path": os.path.join(MODELS, "PP-OCRv6_rec_small.onnx")})


def rapidocr_lines(engine, path):
    r = engine(path)
    if r.boxes is None or r.txts is None:
        return []
    return [{"box": np.asarray(b, float).tolist(), "text": t, "confidence": float(s)} for b, t, s in zip(r.boxes, r.txts, r.scores)]


def ours(paths, models, binary, batch=1):
    cmd = [binary, "predict", "--model", models["rec"], "--detector", models["det"], "--json", "--batch-size", str(batch)] + paths
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    by_page = {p: [] for p in paths}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            by_page[d["image"]].append(d)
    return by_page


def iou(a, b):
    from shapely.geometry import Polygon

    pa, pb = Polygon(a).buffer(0), Polygon(b).buffer(0)
    union = pa.union(pb).area
    return pa.intersection(pb).area / union if union > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--iou", type=float, default=0.95)
    ap.add_argument("--work", default=os.path.join(pc.ROOT, "bench", "work", "pages"))
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    binary = ocrtune_binary()
    paths = synthesize(args.work, args.pages, args.seed, binary)
    models = import_models(args.work, binary)
    mine = ours(paths, models, binary)
    engine = rapidocr_engine()
    pages, count_mismatch, low_iou, text_mismatch, min_iou, lines, identical = [], 0, 0, 0, 1.0, 0, 0
    for p in paths:
        ref = rapidocr_lines(engine, p)
        got = mine[p]
        page = {"page": os.path.relpath(p, args.work), "lines_rapidocr": len(ref), "lines_ours": len(got), "issues": []}
        if len(ref) != len(got):
            count_mismatch += 1
            page["issues"].append({"count": [len(ref), len(got)], "rapidocr": [r["text"] for r in ref], "ours": [g["text"] for g in got]})
        for r, g in zip(ref, got):
            lines += 1
            v = iou(r["box"], g["box"])
            min_iou = min(min_iou, v)
            identical += [[float(c) for c in pt] for pt in r["box"]] == [[float(c) for c in pt] for pt in g["box"]]
            if v < args.iou:
                low_iou += 1
                page["issues"].append({"iou": v, "rapidocr_box": r["box"], "ours_box": g["box"], "text": r["text"]})
            if r["text"] != g["text"]:
                text_mismatch += 1
                page["issues"].append({"rapidocr": r["text"], "ours": g["text"]})
        pages.append(page)
    result = {
        "pages": len(paths), "lines_compared": lines,
        "pages_with_a_different_line_count": count_mismatch,
        "boxes_below_iou": low_iou, "iou_threshold": args.iou, "min_box_iou": min_iou,
        "boxes_identical": identical,
        "text_mismatches": text_mismatch,
        "pass": count_mismatch == 0 and low_iou == 0 and text_mismatch == 0,
        "note": "synthesized receipts, invoices and forms (ocrtune data synth, seed %d); RapidOCR 3.10 without the angle "
                "classifier, both sides recognizing each line alone; opencv %s, shapely %s, pyclipper %s" % (
                    args.seed, cv2.__version__, shapely.__version__, pyclipper.__version__),
        "issues": [p for p in pages if p["issues"]][:10],
    }
    print(f"{len(paths)} pages, {lines} lines: {count_mismatch} pages with another line count, {low_iou} boxes below IoU "
          f"{args.iou} (min {min_iou:.3f}), {identical} identical, {text_mismatch} text mismatches  {'PASS' if result['pass'] else 'FAIL'}")
    for p in result["issues"][:5]:
        print("  ", json.dumps(p, ensure_ascii=False)[:400])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
