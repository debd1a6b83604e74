#!/usr/bin/env python3
"""Compares `ocrtune predict --json` on latex-ocr-junia with the package's own predict_image.

    ocrtune predict --model /work/models/latex-ocr-junia --json --beam-width B IMAGES... > ours.jsonl
    python3 tools/latex_junia_agreement.py --package DIR --beams B ours.jsonl

DIR holds latex_ocr_junia/ (the unpacked wheel). Prints, per image, whether the texts are equal,
and the agreement. Needs torch, numpy, Pillow (dev-only).
"""
import argparse
import json
import sys
from pathlib import Path

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    parser.add_argument("--beams", type=int, default=3)
    parser.add_argument("ours", help="JSON lines {image, text} from ocrtune predict --json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(args.package).resolve()))
    from latex_ocr_junia.predict import predict_image

    rows = [json.loads(line) for line in Path(args.ours).read_text().splitlines() if line.strip()]
    same = 0
    for row in rows:
        theirs = predict_image(row["image"], beam_size=args.beams, device="cpu")
        equal = theirs == row["text"]
        same += equal
        print(json.dumps({"image": row["image"], "equal": equal, "package": theirs, "ocrtune": row["text"]}, ensure_ascii=False))
    print(f"agreement (beams {args.beams}): {same}/{len(rows)}")


if __name__ == "__main__":
    main()
