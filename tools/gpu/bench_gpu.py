#!/usr/bin/env python3
"""The GPU benchmarks of one tools/gpu/run.sh run: ocrtune (MLX's CUDA build) against PyTorch on the
same machine, in the same run, alternating, the best of the rounds kept. Writes OUT/gpu.json with the
figures named as bench/results/gpu.json keeps them:

  device                           what nvidia-smi calls the card (or "cpu" for the rehearsal)
  ppocr_inference_ratio            PP-OCRv5 lines/s at batch 64, ours / transformers' PPOCRV5MobileRec
  ppocr_lora_train_ratio           PP-OCRv5 training samples/s (batch 16), LoRA, ours / PyTorch + peft
  ppocr_full_train_ratio           the same, full fine-tuning
  ppocr_*_peak_memory_ratio        our peak engine allocation / torch.cuda.max_memory_allocated
  qwenvl_forward_ratio, qwenvl_lora_step_ratio, qwenvl_lora_peak_memory_ratio
                                   Qwen2.5-VL-3B-shaped (bench/qwenvl.py), bf16, ours / transformers + peft
  deepseek_forward_ratio, deepseek_lora_step_ratio, deepseek_lora_peak_memory_ratio
                                   DeepSeek-OCR-2-shaped (bench/deepseek_ocr.py), float32
Ratios: higher is better for speed (ours / peer), lower is better for memory (ours / peer).

  python3 tools/gpu/bench_gpu.py --bundle DIR --device gpu|cpu --out DIR [--quick]
The bundle (tools/gpu/package.sh) holds the binaries and work/ (PP-OCRv5 model folder, 64 lines).
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_json(cmd, timeout):
    """Runs a runner, returns its last JSON line (or an error entry: one failure does not end the run)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s: {' '.join(cmd[:3])}"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {' '.join(cmd[:3])}: {proc.stderr.strip()[-1500:]}"}
    out = json.loads(lines[-1])
    out["process_wall_s"] = round(time.perf_counter() - start, 1)
    return out


def best(runs, key):
    good = [r for r in runs if key in r]
    return max(good, key=lambda r: r[key]) if good else (runs[-1] if runs else {"error": "not run"})


def ratio(a, b):
    return round(a / b, 3) if a and b else None


class Run:
    """One bench_gpu run: its settings, and gpu.json as it fills."""

    def __init__(self, args):
        self.args = args
        self.gpu = args.device == "gpu"
        self.torch_device = "cuda" if self.gpu else "cpu"
        self.py = sys.executable
        self.rounds = 1 if args.quick else 2
        self.model, self.lines = self.bundle("work", "pp_ocrv5"), self.bundle("work", "train-lines.safetensors")
        self.result = {"device": args.device, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": self.rounds,
                       "method": "ours and the peer alternate, each configuration in its own process; the best round is kept"}
        if self.gpu:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True)
            self.result["device"] = smi.stdout.strip() or "gpu (nvidia-smi gave nothing)"
        try:
            import torch
            import transformers
            self.result["peer_versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}
        except ImportError as e:
            self.result["peer_versions"] = f"not importable: {e}"

    def bundle(self, *path):
        return os.path.join(self.args.bundle, *path)

    def save(self):
        with open(os.path.join(self.args.out, "gpu.json"), "w") as f:
            json.dump(self.result, f, indent=2)

    def alternate(self, peer_cmd, ours_cmd, key, timeout):
        """The peer and ours, alternating for the run's rounds; the best of each by `key`."""
        runs = {"ours": [], "peer": []}
        for _ in range(self.rounds):
            runs["peer"].append(run_json(peer_cmd, timeout))
            runs["ours"].append(run_json(ours_cmd, timeout))
        return {side: best(measured, key) for side, measured in runs.items()}

    def memory(self, entry, engine_key):
        """(ours, peer) peak memory: the device allocators' on the GPU, resident memory on the CPU."""
        ours, peer = entry.get("ours", {}), entry.get("peer", {})
        if self.gpu:
            return ours.get(engine_key), peer.get("device_peak_mb")
        return ours.get("peak_rss_mb"), peer.get("peak_rss_mb")

    # MARK: PP-OCRv5 inference (batch 64) and training (LoRA, full)

    def ppocr(self):
        args, result = self.args, self.result
        seconds = 2 if args.quick else 8
        steps, warmup = (4, 1) if args.quick else (24, 4)
        peer = [self.py, os.path.join(ROOT, "bench", "train_torch_peer.py")]
        data = ["--model", self.model, "--inputs", self.lines]
        entry = self.alternate(
            peer + data + ["--method", "infer", "--batch", "64", "--seconds", str(seconds), "--device", self.torch_device],
            [self.bundle("bin", "PPOCRBench"), "bench"] + data + ["--batch", "64", "--seconds", str(seconds), "--device", args.device],
            "lines_per_s", 300)
        result["ppocr_inference"] = entry
        result["ppocr_inference_ratio"] = ratio(entry["ours"].get("lines_per_s"), entry["peer"].get("lines_per_s"))
        self.save()
        for method in ("lora", "full"):
            common = data + ["--method", method, "--steps", str(steps), "--warmup", str(warmup), "--batch", "16"]
            entry = self.alternate(
                peer + common + ["--device", self.torch_device],
                [self.bundle("bin", "TrainBench")] + common + ["--loop", "trainer", "--device", args.device],
                "samples_per_s", 600)
            result[f"ppocr_{method}_train"] = entry
            result[f"ppocr_{method}_train_ratio"] = ratio(entry["ours"].get("samples_per_s"), entry["peer"].get("samples_per_s"))
            result[f"ppocr_{method}_peak_memory_ratio"] = ratio(*self.memory(entry, "engine_peak_mb"))
            self.save()

    # MARK: Qwen2.5-VL-3B-shaped, bf16 (float32 on the CPU rehearsal)

    def qwenvl(self):
        args, result = self.args, self.result
        layers, depth = ("1", "2") if args.quick else ("8", "8")
        label = "ours_bf16" if self.gpu else "ours_fp32"
        q = self.driver("qwenvl", ["--layers", layers, "--vision-depth", depth, "--repeats", str(self.rounds), "--warmup", "1",
                                   "--lora-warmup", "1", "--only", f"transformers,{label}", "--binary", self.bundle("bin", "QwenVLBench")]
                        + ([] if self.gpu else ["--peer-dtype", "float32"]))
        if "error" in q:
            result["qwenvl"] = q
            return
        result["qwenvl"] = {"layers": int(layers), "vision_depth": int(depth), "ours": label,
                            "forward": q["forward"], "lora_step": q["lora_step"]}
        result["qwenvl_forward_ratio"] = q["forward"].get(f"{label}_speed_ratio")
        result["qwenvl_lora_step_ratio"] = q["lora_step"].get(f"{label}_speed_ratio")
        result["qwenvl_lora_peak_memory_ratio"] = q["lora_step"].get(
            f"{label}_peak_memory_ratio" if self.gpu else f"{label}_peak_rss_ratio")

    # MARK: DeepSeek-OCR-2-shaped, float32

    def deepseek(self):
        layers, blocks = ("2", "2") if self.args.quick else ("12", "12")
        d = self.driver("deepseek_ocr", ["--layers", layers, "--vision-blocks", blocks, "--rounds", str(self.rounds),
                                         "--binary", self.bundle("bin", "DeepSeekOCRBench")])
        if "error" in d:
            self.result["deepseek"] = d
            return
        self.result["deepseek"] = {"layers": int(layers), "vision_blocks": int(blocks),
                                   "forward": d["forward"], "lora_step": d["lora_step"]}
        self.result["deepseek_forward_ratio"] = d["forward"].get("speed_ratio")
        self.result["deepseek_lora_step_ratio"] = d["lora_step"].get("speed_ratio")
        self.result["deepseek_lora_peak_memory_ratio"] = d["lora_step"].get("peak_memory_ratio" if self.gpu else "peak_rss_ratio")

    def driver(self, name, extra):
        """Runs bench/NAME.py (ours and the PyTorch peer, alternating) on this device; its JSON, or an error entry."""
        out = os.path.join(self.args.out, f"{name}.json")
        cmd = [self.py, os.path.join(ROOT, "bench", f"{name}.py"), "--device", self.args.device, "--python", self.py,
               "--work", os.path.join(os.path.dirname(self.args.bundle), name), "--out", out, *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            return {"error": proc.stderr.strip()[-2000:]}
        with open(out) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--device", default="gpu", choices=["gpu", "cpu"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="short runs: the rehearsal on the CPU")
    ap.add_argument("--only", default="ppocr,qwenvl,deepseek", help="comma list of ppocr, qwenvl, deepseek")
    args = ap.parse_args()
    run = Run(args)
    for part in ("ppocr", "qwenvl", "deepseek"):
        if part in args.only.split(","):
            getattr(run, part)()
            run.save()
    run.result["not_measured"] = ["TrOCR-base-shaped full fine-tuning step: no TrOCR runner in Benchmarks/ yet"]
    run.save()
    print(json.dumps({k: v for k, v in run.result.items() if k.endswith("_ratio") or k == "device"}, indent=1))


if __name__ == "__main__":
    main()
