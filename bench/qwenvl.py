#!/usr/bin/env python3
"""Qwen2.5-VL benchmark: ocrtune (Swift, MLX CPU) vs transformers + peft (PyTorch CPU), same inputs, same run.

A Qwen2.5-VL-3B-Instruct-shaped model (hidden 2048, 16 heads / 2 kv heads, intermediate 11008, vocab
151936; vision hidden 1280, out_hidden 2048) with random weights, built in-process by each side from
the config.json this script writes (no weights on disk). Input: one 448x448 image (1024 patches, 256
visual tokens after the 2x2 merge) in a chat-shaped prompt of ~32 text tokens plus a 16-token answer.
Measured, each configuration in its own process (so each peak RSS is its own):
  forward   prefill logits of the whole sequence: tokens/s and peak RSS
  lora      one LoRA step (r 16, alpha 32, q/k/v/o of the language model, answer-only loss, AdamW):
            seconds and peak RSS
ours in bf16, with the language model's linears quantized to 4 bits (QLoRA for the step), and in
float32 (MLX's CPU matmul has a BLAS path for float32 only; --no-float32 to skip), also with the 4-bit
linears (ours_4bit_fp32: what loading a checkpoint with 4 bits gives on the CPU); the peer in bf16
(--peer-dtype float32 to change). By default the layer counts are reduced (--layers 1 of
36, --vision-depth 2 of 32, same widths, same vocab) and each figure is one cold run (--repeats 1
--warmup 0 --lora-warmup 0), so that the processes take ~15-20 minutes on a 2-core shared machine,
where our bf16 CPU matmuls are slow; the JSON says so. On a bigger machine raise them.

The peer needs torch, transformers and peft, which `make bench` does not install: it runs with
--python PY, else $OCRTUNE_TORCH_PYTHON, else this python if it has them; otherwise it is skipped
(said in the output and the JSON). Writes bench/results/qwenvl.json. Usage:
  python3 bench/qwenvl.py [--layers 1] [--vision-depth 2] [--repeats 1] [--warmup 0] [--python PY] [--skip-peer]
                          [--only ours_fp32,... --update]  (re-measure some configurations into the existing JSON)
Needs a release build of QwenVLBench and numpy (.deps/bench).
"""
import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".deps", "bench"))

import numpy as np  # noqa: E402

# Qwen2.5-VL-3B-Instruct's special tokens.
IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD = 151644, 151645, 151652, 151653, 151655


NOTES = [
    "MLX's CPU matmul runs float32 through BLAS (sgemm) but bfloat16 through a generic SIMD gemm, and 4-bit "
    "quantized matmuls (forward and, for QLoRA, the transposed one of the backward pass) through their own "
    "kernels: ours_fp32 is the figure of the same code with a BLAS path; the bf16 figures are those "
    "kernels' cost on this CPU (avx512_bf16 present, which PyTorch's oneDNN bf16 gemm uses). QuantizedLinear "
    "keeps MLX's quantized kernel on the CPU only below 8 rows (decoding): prefill and training inputs "
    "dequantize the packed weight per call and run the float32 BLAS matmul (ours_4bit_fp32; in ours_4bit the "
    "rest of the model stays in bf16).",
    "losses differ by initialisation only: ours keeps PyTorch-default uniform Linear init and an N(0, 1) "
    "embedding tied to lm_head (large logits), transformers uses normal(0, 0.02); the work per step does not "
    "depend on the values.",
    "peft keeps the adapters in float32 (autocast_adapter_dtype) while ours casts them to the compute dtype, like "
    "the trainer; trainable parameters are equal.",
    "4-bit covers the language model's decoder linears only: with few layers the tied embedding / lm_head "
    "(311M parameters, bf16) dominates memory, so 4-bit saves little here (at 36 layers it would shrink ~2.8B "
    "parameters from 2 bytes to ~0.56 byte each); peak RSS of the 4-bit setup includes the bf16 model it is "
    "quantized from, as when loading a bf16 checkpoint.",
    "the LoRA step's loss is the trainer's (QwenVLModel.loss): ours runs the LM head only at the "
    "scored (answer) positions, 16 of 297 here, as transformers' logits_to_keep would; the peer runs "
    "model(**inputs, labels=labels), transformers' default, which computes the head's 151,936 logits at every "
    "position. Both are what a user of each gets by default.",
]


def make_config(layers, vision_depth):
    """Qwen2.5-VL-3B-Instruct's config.json (transformers 5 layout), with the layer counts given."""
    # Full attention in every fourth vision block, as in the 3B model's [7, 15, 23, 31].
    full = [i for i in range(vision_depth) if i % 4 == 3] or [vision_depth - 1]
    return {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "model_type": "qwen2_5_vl",
        "image_token_id": IMAGE_PAD, "video_token_id": 151656,
        "vision_start_token_id": VISION_START, "vision_end_token_id": VISION_END,
        "tie_word_embeddings": True,
        "text_config": {
            "model_type": "qwen2_5_vl_text", "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008,
            "num_hidden_layers": layers, "num_attention_heads": 16, "num_key_value_heads": 2,
            "hidden_act": "silu", "max_position_embeddings": 128000, "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
            "tie_word_embeddings": True, "bos_token_id": 151643, "eos_token_id": IM_END, "use_cache": True,
        },
        "vision_config": {
            "model_type": "qwen2_5_vl", "depth": vision_depth, "hidden_size": 1280, "intermediate_size": 3420,
            "num_heads": 16, "in_channels": 3, "out_hidden_size": 2048, "patch_size": 14, "spatial_merge_size": 2,
            "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": full, "hidden_act": "silu",
            "tokens_per_second": 2,
        },
    }


def make_inputs(seed=0, side=448, prompt_tokens=22, answer_tokens=15):
    """Chat-shaped ids (random text ids where the template has text), labels on the answer + <|im_end|>,
    and normalized patches of one side x side image."""
    rng = np.random.default_rng(seed)
    words = lambda n: list(rng.integers(100, 150000, n))  # noqa: E731
    grid = (1, side // 14, side // 14)
    image_tokens = grid[1] * grid[2] // 4
    head = prompt_tokens // 2
    prompt = ([IM_START] + words(head - 1) + [IM_END, IM_START] + words(2) + [VISION_START] + [IMAGE_PAD] * image_tokens
              + [VISION_END] + words(prompt_tokens - head - 6) + [IM_END, IM_START] + words(1))
    answer = words(answer_tokens) + [IM_END]
    ids = np.array([prompt + answer], dtype=np.int32)
    labels = np.array([[-100] * len(prompt) + answer], dtype=np.int32)
    pixels = rng.standard_normal((grid[1] * grid[2], 3 * 2 * 14 * 14)).astype(np.float32)
    return {"input_ids": ids, "labels": labels, "pixels": pixels, "grid": np.array(grid, dtype=np.int32)}


def write_safetensors(path, arrays):
    names = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}
    header, offset, blobs = {}, 0, []
    for k, a in arrays.items():
        b = np.ascontiguousarray(a).tobytes()
        header[k] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def torch_python(explicit):
    """A python that can import torch, transformers and peft, or None."""
    candidates = [explicit] if explicit else [os.environ.get("OCRTUNE_TORCH_PYTHON"), sys.executable]
    for py in filter(None, candidates):
        ok = subprocess.run([py, "-c", "import torch, transformers, peft"], capture_output=True).returncode == 0
        if ok:
            return py
        if explicit:
            sys.exit(f"--python {py} cannot import torch, transformers and peft")
    return None


def run_json(cmd, env=None, timeout=1800):
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    out = json.loads([l for l in proc.stdout.splitlines() if l.startswith("{")][-1])
    out["process_wall_s"] = round(time.perf_counter() - t, 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=1, help="language-model layers (the 3B model has 36)")
    ap.add_argument("--vision-depth", type=int, default=2, help="vision blocks (the 3B model has 32)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs (the best is kept)")
    ap.add_argument("--warmup", type=int, default=0, help="untimed forward passes first")
    ap.add_argument("--lora-warmup", type=int, default=0, help="untimed LoRA steps first")
    ap.add_argument("--python", help="python with torch, transformers, peft for the peer")
    ap.add_argument("--peer-dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"], help="gpu: ours on MLX's CUDA build, the peer on cuda")
    ap.add_argument("--no-float32", action="store_true", help="skip ours in float32 (MLX's CPU bf16 matmul has no BLAS path)")
    ap.add_argument("--only", help="comma list of transformers, ours_bf16, ours_4bit, ours_fp32, ours_4bit_fp32 to run")
    ap.add_argument("--update", action="store_true", help="merge into the existing --out JSON (entries are marked)")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "QwenVLBench"))
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "qwenvl"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "qwenvl.json"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} is missing: swift build -c release --product QwenVLBench")

    config_path = os.path.join(args.work, "config.json")
    with open(config_path, "w") as f:
        json.dump(make_config(args.layers, args.vision_depth), f, indent=2)
    inputs = make_inputs()
    write_safetensors(os.path.join(args.work, "inputs.safetensors"), inputs)
    np.savez(os.path.join(args.work, "inputs.npz"), **inputs)

    py = None if args.skip_peer else torch_python(args.python)
    if py is None:
        print("peer skipped: no python with torch, transformers and peft (pass --python or set OCRTUNE_TORCH_PYTHON)")
    threads = os.cpu_count() or 1
    load_before = os.getloadavg()
    reduced = args.layers != 36 or args.vision_depth != 32
    results = {
        "benchmark": "Qwen2.5-VL-3B-shaped, random weights, CPU: one 448x448 image (256 visual tokens) + %d text tokens; "
                     "prefill forward tokens/s, LoRA step (r 16, q/k/v/o, answer-only loss on %d tokens, AdamW) seconds; "
                     "peak RSS per process" % (inputs["input_ids"].shape[1] - 256, int((inputs["labels"] != -100).sum())),
        "layers": args.layers, "vision_depth": args.vision_depth,
        "machine": {"cores": threads, "platform": platform.platform()},
        "peer": None, "device": args.device,
        "forward": {}, "lora_step": {},
    }
    if args.update:
        with open(args.out) as f:
            previous = json.load(f)
        if (previous.get("layers"), previous.get("vision_depth")) != (args.layers, args.vision_depth):
            sys.exit(f"--update: {args.out} was measured with other layer counts")
        for k in ("forward", "lora_step", "peer", "note"):
            if k in previous:
                results[k] = previous[k]
        load_before = tuple(previous["machine"].get("load_average_before", load_before))
    if reduced and not args.update:
        results["note"] = (f"layer counts reduced from the 3B model's 36 language / 32 vision layers to {args.layers} / "
                           f"{args.vision_depth} (same widths, same vocab) so that all the processes fit the run's time on "
                           "a small shared machine; per-layer costs scale, the embedding / lm_head (311M) do not")

    def ours_cmd(mode, bits, dtype):
        return [args.binary, mode, "--config", config_path, "--inputs", os.path.join(args.work, "inputs.safetensors"),
                "--repeats", str(args.repeats), "--warmup", str(args.warmup if mode == "forward" else args.lora_warmup),
                "--dtype", dtype, "--device", args.device] + (["--bits", str(bits)] if bits else [])

    def peer_cmd(mode):
        return [py, os.path.join(ROOT, "bench", "qwenvl_torch.py"), mode, "--config", args.work,
                "--inputs", os.path.join(args.work, "inputs.npz"), "--repeats", str(args.repeats),
                "--warmup", str(args.warmup if mode == "forward" else args.lora_warmup),
                "--dtype", args.peer_dtype, "--threads", str(threads), "--device", "cuda" if args.device == "gpu" else "cpu"]

    peer_env = dict(os.environ, OMP_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    ours = [("ours_bf16", None, "bfloat16"), ("ours_4bit", 4, "bfloat16")]
    if not args.no_float32:
        ours += [("ours_fp32", None, "float32"), ("ours_4bit_fp32", 4, "float32")]
    only = set(args.only.split(",")) if args.only else None
    for mode, key in (("forward", "forward"), ("lora", "lora_step")):
        entry = results[key]
        runs = ([("transformers", lambda: run_json(peer_cmd(mode), env=peer_env))] if py else []) + [
            (label, lambda bits=bits, dtype=dtype: run_json(ours_cmd(mode, bits, dtype))) for label, bits, dtype in ours]
        for label, run in runs:
            if only is not None and label not in only:
                continue
            print(f"{mode}: {label} ...", flush=True)
            load = os.getloadavg()[0]
            entry[label] = run()
            entry[label]["load_average_1min_at_start"] = round(load, 2)
            if args.update:
                entry[label]["measured"] = "added by a later --update run, " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        peer = entry.get("transformers")
        if peer and results["peer"] is None:
            results["peer"] = (f"transformers {peer['transformers']} + peft on PyTorch {peer['torch']} CPU, "
                               f"{peer['dtype']}, {peer['threads']} threads")
        for label, _, _ in ours:
            if peer and label in entry:
                entry[f"{label}_speed_ratio"] = round(entry[label]["tokens_per_s"] / peer["tokens_per_s"], 3)
                entry[f"{label}_peak_rss_ratio"] = round(entry[label]["peak_rss_mb"] / peer["peak_rss_mb"], 3)
                if args.device == "gpu" and peer.get("device_peak_mb"):
                    entry[f"{label}_peak_memory_ratio"] = round(entry[label]["mlx_peak_memory_mb"] / peer["device_peak_mb"], 3)
        summary = ", ".join(f"{k} {v['tokens_per_s']:.1f} tok/s {v['peak_rss_mb']:.0f} MB"
                            for k, v in entry.items() if isinstance(v, dict))
        print(f"{mode}: {summary}")
    if not py and results["peer"] is None:
        results["peer"] = "skipped: no python with torch, transformers and peft (--python / OCRTUNE_TORCH_PYTHON)"
    results["notes"] = NOTES
    results["ratios"] = ("*_speed_ratio = ours tokens/s over the peer's (> 1: ours faster; for the LoRA step the same as "
                         "the peer's step time over ours); *_peak_rss_ratio = our peak RSS over the peer's (< 1: ours smaller)")
    load_after = os.getloadavg()
    results["machine"]["load_average_before"] = [round(x, 2) for x in load_before]
    results["machine"]["load_average_after"] = [round(x, 2) for x in load_after]
    if max(load_before[0], load_after[0]) > 3:
        results["machine"]["note"] = ("shared machine, loaded by other jobs during the run (1-minute load average above 3 on "
                                      f"{threads} cores): absolute figures are pessimistic, ratios less affected")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
