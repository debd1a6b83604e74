#!/usr/bin/env python3
"""Trainer benchmark: ocrtune's trainer vs a bare engine loop, and LoRA / QLoRA / full fine-tuning
of the PP-OCRv5 mobile recognizer (batch 16 of 48x320 lines), same lines, same run.

- Trainer overhead: Benchmarks/TrainBench runs the same model, batches, AdamW and schedule once
  through `Trainer` (metrics.jsonl, TensorBoard, progress, accumulation bookkeeping) and once as a
  bare loop (value-and-grad, clip, AdamW); steps/s over the steps after a warm-up, and CPU time
  per step (all threads; less disturbed by other jobs on a shared machine). Target: the trainer
  keeps >= 95% of the bare loop's steps/s (overhead <= 5%). Both loops must log the same
  losses, which shows they ran the same computation.
- Steps/s and peak memory per method: each configuration runs in its own process; peak RSS is
  the process's VmHWM, the engine peak MLX's own allocation high-water mark.
- Peer (optional): the same steps in PyTorch — transformers' PPOCRV5MobileRecForTextRecognition
  with the same weights, peft LoRA on the same layers, torch AdamW and ctc_loss
  (bench/train_torch_peer.py), run by --torch-python (or $BENCH_TORCH_PYTHON) when it has torch,
  transformers and peft; otherwise the JSON says the peer was not run.

Writes bench/results/train.json. Usage:
  python3 bench/train.py [--steps 14] [--warmup 4] [--repeats 2] [--methods lora,qlora,full]
                         [--torch-python /path/to/python] [--version v5|v6]
Needs bench/requirements.txt (.deps/bench: numpy, pillow, opencv), the pip weights (.deps/python)
and release builds of TrainBench and ocrtune (`ocrtune import ppocr` makes the model folder).
"""
import argparse
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(1, os.path.join(ROOT, ".deps", "bench"))

import numpy as np  # noqa: E402
import ppocr_common as pc  # noqa: E402


# MARK: - Inputs

def make_inputs(model_dir, count, seed, path):
    """Rendered lines the model can emit, preprocessed to 48x320, with CTC class targets."""
    with open(os.path.join(model_dir, "dictionary.txt"), encoding="utf-8") as f:
        labels = f.read().split("\n")
    if labels and labels[-1] == "":
        labels.pop()
    index = {label: i + 1 for i, label in enumerate(labels)}  # class 0 is the blank
    cjk = [c for c in pc.paddle_characters("v5") if len(c) == 1 and 0x4E00 <= ord(c) <= 0x9FFF][:3000]
    texts, images = pc.make_lines(count * 3, seed, cjk)
    kept = [(t, im) for t, im in zip(texts, images) if 2 <= len(t) <= 24 and all(c in index for c in t)][:count]
    if len(kept) < count:
        raise SystemExit(f"only {len(kept)} usable lines rendered")
    pixels = np.concatenate([pc.preprocess(im, batch_width=320) for _, im in kept]).astype(np.float32)
    longest = max(len(t) for t, _ in kept)
    targets = np.zeros((count, longest), np.int32)
    for i, (t, _) in enumerate(kept):
        targets[i, : len(t)] = [index[c] for c in t]
    lengths = np.array([len(t) for t, _ in kept], np.int32)
    pc.write_safetensors(path, {"pixels": pixels, "targets": targets, "target_lengths": lengths})
    return path


# MARK: - Runs

def ours(model_dir, inputs, method, loop, args, extra=()):
    cmd = [pc.swift_binary("TrainBench"), "--model", model_dir, "--inputs", inputs, "--method", method,
           "--loop", loop, "--steps", str(args.steps), "--warmup", str(args.warmup), "--batch", str(args.batch), *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def peer(python, model_dir, inputs, method, args):
    cmd = [python, os.path.join(ROOT, "bench", "train_torch_peer.py"), "--model", model_dir, "--inputs", inputs,
           "--method", method, "--steps", str(args.steps), "--warmup", str(args.warmup), "--batch", str(args.batch)]
    env = dict(os.environ, OMP_NUM_THREADS=str(os.cpu_count() or 1))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def torch_python(args):
    python = args.torch_python or os.environ.get("BENCH_TORCH_PYTHON")
    if not python:
        return None, "no --torch-python / $BENCH_TORCH_PYTHON given"
    probe = subprocess.run([python, "-c", "import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return None, f"{python} lacks torch, transformers or peft"
    return python, "PyTorch %s, transformers %s, peft %s (CPU, %d threads)" % (*probe.stdout.split(), os.cpu_count() or 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=14)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lines", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--methods", default="lora,qlora,full")
    ap.add_argument("--torch-python")
    ap.add_argument("--peer-repeats", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "train"))
    ap.add_argument("--version", default="v5", help="v5 (mobile) or v6 (small); v6 writes bench/results/train_v6.json by default")
    ap.add_argument("--out")
    args = ap.parse_args()
    args.out = args.out or os.path.join(ROOT, "bench", "results", "train.json" if args.version == "v5" else f"train_{args.version}.json")
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)

    model_dir = pc.import_model(args.version, os.path.join(args.work, "models", f"pp_ocr{args.version}"))
    inputs = make_inputs(model_dir, args.lines, 11, os.path.join(args.work, "train-lines.safetensors"))
    python, peer_name = torch_python(args)

    results = {
        "benchmark": f"{'PP-OCRv5 mobile' if args.version == 'v5' else 'PP-OCRv6 small'} recognizer training steps, batch {args.batch} of 48x320 lines, AdamW, "
                     f"{args.steps} steps of which the first {args.warmup} are warm-up (steady-state steps/s)",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    "note": "shared machine: other jobs ran at the same time; runs alternate and the best of each is kept"},
        "overhead_peer": "bare engine loop (value-and-grad, clip, AdamW) on the same model, batches, optimizer and schedule",
        "trainer_settings": "metrics.jsonl and TensorBoard scalars every step (log_every 1, the worst case), no validation, "
                            "no periodic checkpoints; the output adapter/model is written after the timed steps",
        "target_ratio": 0.95,
        "method_peer": peer_name if python else f"not run: {peer_name}",
        "trainer_overhead": {},
        "methods": {},
    }
    for method in args.methods.split(","):
        runs = {"bare": [], "trainer": []}
        error = None
        for r in range(args.repeats):
            for loop in (("bare", "trainer") if r % 2 == 0 else ("trainer", "bare")):
                out = ours(model_dir, inputs, method, loop, args)
                if "error" in out:
                    error = out["error"]
                    break
                runs[loop].append(out)
            if error:
                break
        if error:
            results["methods"][method] = {"applicable": False, "reason": error}
            print(f"{method}: not run: {error}")
            continue
        bare = max(runs["bare"], key=lambda o: o["steps_per_s"])
        trainer = max(runs["trainer"], key=lambda o: o["steps_per_s"])
        loss_diff = float(np.max(np.abs(np.array(bare["losses"]) - np.array(trainer["losses"]))))
        ratio = trainer["steps_per_s"] / bare["steps_per_s"]
        results["trainer_overhead"][method] = {
            "trainer_steps_per_s": round(trainer["steps_per_s"], 4),
            "bare_steps_per_s": round(bare["steps_per_s"], 4),
            "ratio": round(ratio, 3),
            "overhead_percent": round((1 - ratio) * 100, 2),
            "losses_max_abs_diff": loss_diff,
            "all_runs_steps_per_s": {k: [round(o["steps_per_s"], 4) for o in v] for k, v in runs.items()},
        }
        if all("cpu_ms_per_step" in o for v in runs.values() for o in v):
            # CPU time per step (all threads): what each loop costs, less disturbed by other jobs.
            cpu = {k: min(o["cpu_ms_per_step"] for o in v) for k, v in runs.items()}
            results["trainer_overhead"][method].update({
                "trainer_cpu_ms_per_step": round(cpu["trainer"], 1),
                "bare_cpu_ms_per_step": round(cpu["bare"], 1),
                "cpu_ratio": round(cpu["bare"] / cpu["trainer"], 3),
                "all_runs_cpu_ms_per_step": {k: [round(o["cpu_ms_per_step"], 1) for o in v] for k, v in runs.items()},
            })
        entry = {
            "steps_per_s": round(trainer["steps_per_s"], 4),
            "samples_per_s": round(trainer["samples_per_s"], 2),
            "ms_per_step_median": round(trainer["ms_per_step_median"], 1),
            "peak_rss_mb": round(trainer["peak_rss_mb"], 1),
            "engine_peak_mb": round(trainer["engine_peak_mb"], 1),
            "trainable_parameters": trainer["trainable_parameters"],
        }
        if python:
            theirs = max((peer(python, model_dir, inputs, method, args) for _ in range(args.peer_repeats)), key=lambda o: o["steps_per_s"])
            entry["peer"] = theirs
            entry["ratio_steps_per_s"] = round(entry["steps_per_s"] / theirs["steps_per_s"], 3)
            entry["ratio_peak_rss"] = round(entry["peak_rss_mb"] / theirs["peak_rss_mb"], 3)
        if method in ("lora", "full"):
            # The same steps with the SVTR blocks checkpointed: activation memory traded for compute.
            gc = ours(model_dir, inputs, method, "trainer", args, ["--gradient-checkpointing"])
            entry["with_gradient_checkpointing"] = {
                "steps_per_s": round(gc["steps_per_s"], 4), "peak_rss_mb": round(gc["peak_rss_mb"], 1),
                "engine_peak_mb": round(gc["engine_peak_mb"], 1),
                "losses_max_abs_diff": float(np.max(np.abs(np.array(gc["losses"]) - np.array(trainer["losses"])))),
            }
        results["methods"][method] = entry
        print(f"{method}: trainer {trainer['steps_per_s']:.3f} steps/s vs bare {bare['steps_per_s']:.3f} "
              f"(ratio {ratio:.3f}, target >= 0.95); peak RSS {trainer['peak_rss_mb']:.0f} MB"
              + (f"; PyTorch {entry['peer']['steps_per_s']:.3f} steps/s, ratio {entry['ratio_steps_per_s']}" if python else ""))
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
