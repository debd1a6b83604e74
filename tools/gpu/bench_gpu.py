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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--device", default="gpu", choices=["gpu", "cpu"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="short runs: the rehearsal on the CPU")
    ap.add_argument("--only", default="ppocr,qwenvl,deepseek", help="comma list of ppocr, qwenvl, deepseek")
    args = ap.parse_args()
    only = set(args.only.split(","))
    gpu = args.device == "gpu"
    torch_device = "cuda" if gpu else "cpu"
    b = lambda *p: os.path.join(args.bundle, *p)  # noqa: E731
    model, lines = b("work", "pp_ocrv5"), b("work", "train-lines.safetensors")
    py = sys.executable
    rounds = 1 if args.quick else 2
    seconds = 2 if args.quick else 8
    steps, warmup = (4, 1) if args.quick else (24, 4)
    result = {"device": args.device, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": rounds,
              "method": "ours and the peer alternate, each configuration in its own process; the best round is kept"}
    if gpu:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True)
        result["device"] = smi.stdout.strip() or "gpu (nvidia-smi gave nothing)"
    try:
        import torch
        import transformers
        result["peer_versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}
    except ImportError as e:
        result["peer_versions"] = f"not importable: {e}"

    def save():
        with open(os.path.join(args.out, "gpu.json"), "w") as f:
            json.dump(result, f, indent=2)

    def memory(entry, engine_key):
        """(ours, peer) peak memory: the device allocators' on the GPU, resident memory on the CPU."""
        ours, peer = entry.get("ours", {}), entry.get("peer", {})
        if gpu:
            return ours.get(engine_key), peer.get("device_peak_mb")
        return ours.get("peak_rss_mb"), peer.get("peak_rss_mb")

    if "ppocr" in only:
        ppocr(args, b, model, lines, py, rounds, seconds, steps, warmup, gpu, torch_device, result, save, memory)
    if "qwenvl" in only:
        qwenvl(args, b, py, rounds, gpu, result)
        save()
    if "deepseek" in only:
        deepseek(args, b, py, rounds, gpu, result)
    result["not_measured"] = ["TrOCR-base-shaped full fine-tuning step: no TrOCR runner in Benchmarks/ yet"]
    save()
    print(json.dumps({k: v for k, v in result.items() if k.endswith("_ratio") or k == "device"}, indent=1))


def ppocr(args, b, model, lines, py, rounds, seconds, steps, warmup, gpu, torch_device, result, save, memory):
    # MARK: PP-OCRv5 inference, batch 64
    entry = {"ours": [], "peer": []}
    for _ in range(rounds):
        entry["peer"].append(run_json([py, os.path.join(ROOT, "bench", "train_torch_peer.py"), "--model", model, "--inputs", lines,
                                       "--method", "infer", "--batch", "64", "--seconds", str(seconds), "--device", torch_device], 300))
        entry["ours"].append(run_json([b("bin", "PPOCRBench"), "bench", "--model", model, "--inputs", lines, "--batch", "64",
                                       "--seconds", str(seconds), "--device", args.device], 300))
    entry = {"ours": best(entry["ours"], "lines_per_s"), "peer": best(entry["peer"], "lines_per_s")}
    result["ppocr_inference"] = entry
    result["ppocr_inference_ratio"] = ratio(entry["ours"].get("lines_per_s"), entry["peer"].get("lines_per_s"))
    save()

    # MARK: PP-OCRv5 training, LoRA and full
    for method in ("lora", "full"):
        entry = {"ours": [], "peer": []}
        common = ["--model", model, "--inputs", lines, "--method", method, "--steps", str(steps), "--warmup", str(warmup),
                  "--batch", "16"]
        for _ in range(rounds):
            entry["peer"].append(run_json([py, os.path.join(ROOT, "bench", "train_torch_peer.py"), *common,
                                           "--device", torch_device], 600))
            entry["ours"].append(run_json([b("bin", "TrainBench"), *common, "--loop", "trainer", "--device", args.device], 600))
        entry = {"ours": best(entry["ours"], "samples_per_s"), "peer": best(entry["peer"], "samples_per_s")}
        result[f"ppocr_{method}_train"] = entry
        result[f"ppocr_{method}_train_ratio"] = ratio(entry["ours"].get("samples_per_s"), entry["peer"].get("samples_per_s"))
        result[f"ppocr_{method}_peak_memory_ratio"] = ratio(*memory(entry, "engine_peak_mb"))
        save()


def qwenvl(args, b, py, rounds, gpu, result):
    # MARK: Qwen2.5-VL-3B-shaped, bf16 (float32 on the CPU rehearsal)
    layers, depth = ("1", "2") if args.quick else ("8", "8")
    label = "ours_bf16" if gpu else "ours_fp32"
    qwen_out = os.path.join(args.out, "qwenvl.json")
    cmd = [py, os.path.join(ROOT, "bench", "qwenvl.py"), "--device", args.device, "--python", py, "--layers", layers,
           "--vision-depth", depth, "--repeats", str(rounds), "--warmup", "1", "--lora-warmup", "1",
           "--only", f"transformers,{label}", "--binary", b("bin", "QwenVLBench"),
           "--work", os.path.join(os.path.dirname(args.bundle), "qwenvl"), "--out", qwen_out]
    if not gpu:
        cmd += ["--peer-dtype", "float32"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode == 0:
        with open(qwen_out) as f:
            q = json.load(f)
        result["qwenvl"] = {"layers": int(layers), "vision_depth": int(depth), "ours": label,
                            "forward": q["forward"], "lora_step": q["lora_step"]}
        result["qwenvl_forward_ratio"] = q["forward"].get(f"{label}_speed_ratio")
        result["qwenvl_lora_step_ratio"] = q["lora_step"].get(f"{label}_speed_ratio")
        result["qwenvl_lora_peak_memory_ratio"] = q["lora_step"].get(
            f"{label}_peak_memory_ratio" if gpu else f"{label}_peak_rss_ratio")
    else:
        result["qwenvl"] = {"error": proc.stderr.strip()[-2000:]}


def deepseek(args, b, py, rounds, gpu, result):
    # MARK: DeepSeek-OCR-2-shaped, float32
    blocks = ("2", "2") if args.quick else ("12", "12")
    ds_out = os.path.join(args.out, "deepseek_ocr.json")
    cmd = [py, os.path.join(ROOT, "bench", "deepseek_ocr.py"), "--device", args.device, "--python", py,
           "--layers", blocks[0], "--vision-blocks", blocks[1], "--rounds", str(rounds), "--binary", b("bin", "DeepSeekOCRBench"),
           "--work", os.path.join(os.path.dirname(args.bundle), "deepseek_ocr"), "--out", ds_out]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode == 0:
        with open(ds_out) as f:
            d = json.load(f)
        result["deepseek"] = {"layers": int(blocks[0]), "vision_blocks": int(blocks[1]),
                              "forward": d["forward"], "lora_step": d["lora_step"]}
        result["deepseek_forward_ratio"] = d["forward"].get("speed_ratio")
        result["deepseek_lora_step_ratio"] = d["lora_step"].get("speed_ratio")
        result["deepseek_lora_peak_memory_ratio"] = d["lora_step"].get("peak_memory_ratio" if gpu else "peak_rss_ratio")
    else:
        result["deepseek"] = {"error": proc.stderr.strip()[-2000:]}


if __name__ == "__main__":
    main()
