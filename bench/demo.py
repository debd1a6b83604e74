#!/usr/bin/env python3
"""The demo's targets (issue #6), measured: runs tools/demo.sh (synthesize, measure, fine-tune
PP-OCRv6 small rec — PP-OCRv5 mobile rec with BASE=v5 — on Persian with Chinese replay, measure again) and writes bench/results/demo.json with
the Persian and Chinese CER before/after, the training time and which targets are met.

The peer of each figure is the base model in the same run (CER before), and the target time
budget (15 min of training on this machine's cores). Environment variables of tools/demo.sh
(STEPS, DISTILL, ...) pass through. Usage: python3 bench/demo.py [--no-run]
(--no-run: only read the last demo run's summary, runs/demo-persian/demo-summary.json).
"""
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ran = "--no-run" not in sys.argv[1:]
    if ran:
        subprocess.run([os.path.join(ROOT, "tools", "demo.sh")], check=True, cwd=ROOT)
    run = os.environ.get("RUN", os.path.join(ROOT, "runs", "demo-persian"))
    with open(os.path.join(run, "demo-summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(run, "run.json")) as f:
        command = json.load(f).get("command", [])
    result = {
        "benchmark": f"make demo: {summary.get('base_model', 'PP-OCR')} taught Persian (vocabulary extension) with Chinese replay, on the CPU",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    **({"load_average_at_end": os.getloadavg()} if ran else {})},
        "train_command": command,
        **summary,
        "ratios": {
            "persian_cer_after_over_before": summary["persian_cer_after"] / max(summary["persian_cer_before"], 1e-9),
            "chinese_cer_after_over_before": summary["chinese_cer_after"] / max(summary["chinese_cer_before"], 1e-9),
            "training_seconds_over_budget": summary["training_seconds"] / 900,
        },
    }
    out = os.path.join(ROOT, "bench", "results", "demo.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result["targets_met"]), "->", out)
    sys.exit(0)


if __name__ == "__main__":
    main()
