#!/usr/bin/env python3
"""PP-OCR recognizer inference benchmark: ocrtune (Swift, MLX) vs onnxruntime, same lines, same run.

Renders text lines, preprocesses them as PaddleOCR does to 48x320 (aspect kept, padded), and
measures lines/s of batched inference (forward + softmax + greedy argmax) for PP-OCRv5 and
PP-OCRv4 mobile and PP-OCRv6 small (--versions v6): onnxruntime (pip, CPU provider, intra-op threads = cores) and ours
(Benchmarks/PPOCRBench: the model folder written by `ocrtune import ppocr`). Both run the same
tensors, alternately, so machine load affects both alike.

Writes bench/results/ppocr.json. Usage:
  python3 bench/ppocr.py [--seconds 20] [--batch 8] [--lines 64] [--versions v5,v4,v6]
(versions not run keep their earlier entries in the JSON)
Needs bench/requirements.txt (installed into .deps/bench by `make bench`: onnxruntime, onnx, numpy,
pillow, opencv-python-headless), the pip weights (.deps/python), and release builds of PPOCRBench
and ocrtune.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(1, os.path.join(ROOT, ".deps", "bench"))

import numpy as np  # noqa: E402
import ppocr_common as pc  # noqa: E402


def ort_lines_per_s(session, batches, seconds):
    for b in batches[:2]:
        session.run(None, {"x": b})
    times, lines, i = [], 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        b = batches[i % len(batches)]
        t = time.perf_counter()
        probs = session.run(None, {"x": b})[0]
        probs.argmax(axis=2), probs.max(axis=2)
        times.append(time.perf_counter() - t)
        lines += b.shape[0]
        i += 1
    return {"lines_per_s": lines / sum(times), "ms_per_batch_median": float(np.median(times)) * 1000, "batches": len(times)}


def ours_lines_per_s(model_dir, inputs, batch, seconds, extra=()):
    cmd = [pc.swift_binary(), "bench", "--model", model_dir, "--inputs", inputs, "--batch", str(batch), "--seconds", str(seconds), *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("{")][-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lines", type=int, default=64)
    ap.add_argument("--versions", default="v5,v4")
    ap.add_argument("--variants", action="store_true", help="also time ours with compile, with OpenBLAS's own threads, without the fused kernels, and with the engine's own convolutions")
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "ppocr"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "ppocr.json"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)

    _, images = pc.make_lines(args.lines, 7, pc.common_cjk_characters())
    pixels = np.concatenate([pc.preprocess(rgb, batch_width=320) for rgb in images])  # [N, 48, 320, 3]
    inputs = os.path.join(args.work, "bench-lines.safetensors")
    pc.write_safetensors(inputs, {"pixels": pixels})
    nchw = pixels.transpose(0, 3, 1, 2)
    batches = [np.ascontiguousarray(nchw[i : i + args.batch]) for i in range(0, len(nchw), args.batch)]
    threads = os.cpu_count() or 1

    results = {
        "benchmark": "PP-OCR recognizer inference, 48x320 lines, batch %d, forward + softmax + greedy argmax" % args.batch,
        "machine": {"cores": threads, "platform": platform.platform()},
        "peer": "onnxruntime %s (CPUExecutionProvider, intra_op_num_threads=%d)" % (__import__("onnxruntime").__version__, threads),
        "target_ratio": 0.7,
        "inference": {},
    }
    for version in args.versions.split(","):
        model_dir = pc.import_model(version, os.path.join(args.work, "models", f"pp_ocr{version}"))
        session = pc.ort_session(version, threads=threads)
        # Alternate peer and ours twice; keep each one's best (least disturbed) run.
        ort_runs, our_runs = [], []
        for _ in range(2):
            ort_runs.append(ort_lines_per_s(session, batches, args.seconds / 2))
            our_runs.append(ours_lines_per_s(model_dir, inputs, args.batch, args.seconds / 2))
        ort = max(ort_runs, key=lambda r: r["lines_per_s"])
        ours = max(our_runs, key=lambda r: r["lines_per_s"])
        entry = {
            "ours_lines_per_s": round(ours["lines_per_s"], 2),
            "onnxruntime_lines_per_s": round(ort["lines_per_s"], 2),
            "ratio": round(ours["lines_per_s"] / ort["lines_per_s"], 3),
            "ours": ours,
            "onnxruntime": ort,
        }
        if args.variants:
            entry["ours_with_compile"] = ours_lines_per_s(model_dir, inputs, args.batch, args.seconds / 2, ["--compile"])
            entry["ours_threaded_blas"] = ours_lines_per_s(model_dir, inputs, args.batch, args.seconds / 2, ["--threaded-blas"])
            entry["ours_unfused_threaded_blas"] = ours_lines_per_s(model_dir, inputs, args.batch, args.seconds / 2, ["--kernel", "unfused"])
            entry["ours_engine_convolutions"] = ours_lines_per_s(model_dir, inputs, args.batch, args.seconds / 2, ["--kernel", "engine"])
        results["inference"][version] = entry
        print(f"{version}: ours {entry['ours_lines_per_s']} lines/s, onnxruntime {entry['onnxruntime_lines_per_s']} lines/s, "
              f"ratio {entry['ratio']} (target >= 0.7)")
    if os.path.exists(args.out):
        # Versions not run this time keep their earlier figures.
        with open(args.out) as f:
            earlier = json.load(f)
        results["inference"] = {**earlier.get("inference", {}), **results["inference"]}
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
