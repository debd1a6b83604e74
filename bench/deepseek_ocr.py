#!/usr/bin/env python3
"""DeepSeek-OCR 2 benchmark: ocrtune (Swift, MLX CPU) vs transformers + peft (PyTorch CPU), same inputs,
same run, alternating ours and the peer, best of several runs.

A DeepSeek-OCR-2-shaped model at real widths — language model hidden 1280, 10 heads, dense MLP 6848,
64 routed experts (896 wide) top-6 + 2 shared, vocab 129,280; SAM-B (768 wide, 12 heads, neck 256,
downsample 512 / 896); the Qwen2-0.5B-shaped query encoder (896 wide, 14 heads / 2 kv heads, MLP
4864) — cut to --layers decoder layers (first dense, the rest MoE) and --vision-blocks blocks per
vision stack (SAM: one windowed, one global), random weights, float32, built in-process by each side
from the config.json this script writes. Input: one 600x760 image (the 1024 global view only, no
tiles: 256 query tokens + the separator) after a BOS, then "\\nFree OCR." and a 24-token answer.
Measured, each configuration in its own process (so each peak RSS is its own), alternating peer and
ours --rounds times, the best time of each kept:
  forward    the whole forward (vision + language model + logits at every position): tokens/s
  lora_step  one LoRA step (r 16, alpha 16, q/k/v/o + gate/up/down of the decoder: dense MLP, shared
             and routed experts; answer-only loss; AdamW; the vision pass included): tokens/s

The peer needs torch, transformers and peft: it runs with --python PY, else $OCRTUNE_TORCH_PYTHON,
else this python if it has them; otherwise it is skipped (said in the JSON). Writes
bench/results/deepseek_ocr.json. Usage:
  python3 bench/deepseek_ocr.py [--layers 2] [--vision-blocks 2] [--rounds 3] [--python PY] [--skip-peer]
Needs a release build of DeepSeekOCRBench (swift build -c release --product DeepSeekOCRBench) and numpy.
"""
import argparse
import json
import os
import platform
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".deps", "bench"))

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
from qwenvl import run_json, torch_python  # noqa: E402  (the same process and peer plumbing)

IMAGE_TOKEN, BOS, EOS = 128815, 0, 1

NOTES = [
    "the peer's forward is transformers' DeepseekOcr2ForConditionalGeneration as shipped (fused experts, its "
    "per-expert loop); for the LoRA step its MoE layers hold per-expert Linear modules (weights copied), as "
    "DeepSeek's own modeling code does, so that PEFT adapts the routed experts as ours does: same LoRA layers, "
    "same trainable parameters.",
    "the LoRA step's loss is each side's default: ours runs the LM head (129,280 x 1280) at the 25 answer positions "
    "only (DeepSeekOCRModel.loss, the trainer's); the peer runs model(**inputs, labels=labels), which computes the "
    "logits of every position.",
    "random weights: normal(0, 0.02) on both sides (norms 1), so the router picks experts at random as a trained "
    "model's look to the dispatch; the work per step does not depend on the values.",
    "ours keeps no image-feature cache here (the trainer does, while the vision stages are frozen): each step "
    "includes the vision forward on both sides.",
]


def make_config(layers, vision_blocks):
    """transformers' deepseek_ocr2 config.json, DeepSeek-OCR 2's widths, the layer counts given."""
    return {
        "architectures": ["DeepseekOcr2ForConditionalGeneration"], "model_type": "deepseek_ocr2",
        "image_token_id": IMAGE_TOKEN, "tie_word_embeddings": False,
        "text_config": {
            "model_type": "deepseek_ocr2_text", "vocab_size": 129280, "hidden_size": 1280, "intermediate_size": 6848,
            "num_hidden_layers": layers, "num_attention_heads": 10, "num_key_value_heads": 10,
            "n_routed_experts": 64, "num_experts_per_tok": 6, "n_shared_experts": 2, "moe_intermediate_size": 896,
            "topk_method": "greedy", "routed_scaling_factor": 1.0, "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
            "mlp_layer_types": ["dense"] + ["sparse"] * (layers - 1), "bos_token_id": BOS, "eos_token_id": EOS,
        },
        "vision_config": {
            "sam_config": {"hidden_size": 768, "num_hidden_layers": vision_blocks, "num_attention_heads": 12,
                           "global_attn_indexes": [vision_blocks - 1], "output_channels": 256,
                           "downsample_channels": [512, 896], "initializer_range": 0.02},
            "encoder_config": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": vision_blocks,
                               "num_attention_heads": 14, "num_key_value_heads": 2,
                               "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}},
        },
    }


def make_image(path, width=600, height=760):
    """A document-like page: dark text-line bars on a light background."""
    from PIL import Image

    rng = np.random.default_rng(0)
    page = np.full((height, width, 3), 235, np.uint8)
    for y in range(40, height - 40, 28):
        x = 40
        while x < width - 80:
            w = int(rng.integers(20, 90))
            page[y:y + 14, x:x + w] = rng.integers(10, 80)
            x += w + int(rng.integers(8, 20))
    Image.fromarray(page).save(path)


def make_inputs(seed=0, image_tokens=257, prompt_tokens=6, answer_tokens=24):
    rng = np.random.default_rng(seed)
    words = lambda n: list(rng.integers(100, 128000, n))  # noqa: E731
    prompt = [BOS] + [IMAGE_TOKEN] * image_tokens + words(prompt_tokens)
    answer = words(answer_tokens) + [EOS]
    ids = np.array([prompt + answer], dtype=np.int32)
    labels = np.array([[-100] * len(prompt) + answer], dtype=np.int32)
    return {"input_ids": ids, "labels": labels}


def write_safetensors(path, arrays):
    header, offset, blobs = {}, 0, []
    for k, a in arrays.items():
        b = np.ascontiguousarray(a).tobytes()
        header[k] = {"dtype": "I32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=2, help="decoder layers (DeepSeek-OCR 2 has 12: 1 dense + 11 MoE)")
    ap.add_argument("--vision-blocks", type=int, default=2, help="blocks per vision stack (SAM 12, encoder 24)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (peer, ours) per measurement; the best kept")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs at the start of each process")
    ap.add_argument("--python", help="python with torch, transformers, peft for the peer")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"], help="gpu: ours on MLX's CUDA build, the peer on cuda")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "DeepSeekOCRBench"))
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "deepseek_ocr"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "deepseek_ocr.json"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} is missing: swift build -c release --product DeepSeekOCRBench")

    config_path = os.path.join(args.work, "config.json")
    with open(config_path, "w") as f:
        json.dump(make_config(args.layers, args.vision_blocks), f, indent=2)
    image = os.path.join(args.work, "page.png")
    make_image(image)
    inputs = make_inputs()
    write_safetensors(os.path.join(args.work, "inputs.safetensors"), inputs)
    np.savez(os.path.join(args.work, "inputs.npz"), **inputs)

    py = None if args.skip_peer else torch_python(args.python)
    threads = os.cpu_count() or 1
    load_before = os.getloadavg()
    results = {
        "benchmark": "DeepSeek-OCR-2-shaped, random weights, float32, CPU: one 1024 global view (257 image tokens) + "
                     f"{inputs['input_ids'].shape[1] - 257} text tokens; forward tokens/s, LoRA step tokens/s "
                     "(r 16, decoder q/k/v/o + dense, shared and routed experts' gate/up/down, answer-only loss, AdamW); "
                     "peak RSS per process; alternating peer / ours, best of the rounds",
        "layers": args.layers, "vision_blocks": args.vision_blocks, "rounds": args.rounds,
        "machine": {"cores": threads, "platform": platform.platform()},
        "peer": None if py else "skipped: no python with torch, transformers and peft (--python / OCRTUNE_TORCH_PYTHON)",
        "forward": {}, "lora_step": {},
        "note": (f"layer counts cut from DeepSeek-OCR 2's 12 decoder layers / 12 SAM blocks / 24 encoder layers to "
                 f"{args.layers} / {args.vision_blocks} / {args.vision_blocks} (real widths, real vocab)"),
    }
    common = ["--config", config_path, "--image", image, "--repeats", "1", "--warmup", str(args.warmup)]
    results["device"] = args.device
    peer_env = dict(os.environ, OMP_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    for mode, key in (("forward", "forward"), ("lora", "lora_step")):
        runs = {"ours": [], "transformers": []}
        for r in range(args.rounds):
            if py:
                print(f"{mode} round {r + 1}: transformers ...", flush=True)
                runs["transformers"].append(run_json(
                    [py, os.path.join(ROOT, "bench", "deepseek_ocr_torch.py"), mode, "--inputs",
                     os.path.join(args.work, "inputs.npz"), "--threads", str(threads),
                     "--device", "cuda" if args.device == "gpu" else "cpu"] + common, env=peer_env))
            print(f"{mode} round {r + 1}: ours ...", flush=True)
            runs["ours"].append(run_json([args.binary, mode, "--inputs", os.path.join(args.work, "inputs.safetensors"),
                                          "--device", args.device] + common))
        entry = results[key]
        for side, measured in runs.items():
            if not measured:
                continue
            best = max(measured, key=lambda m: m["tokens_per_s"])
            best = dict(best, tokens_per_s_all_rounds=[round(m["tokens_per_s"], 2) for m in measured],
                        peak_rss_mb_max=max(m["peak_rss_mb"] for m in measured))
            entry[side] = best
        if "transformers" in entry:
            peer = entry["transformers"]
            if results["peer"] is None:
                results["peer"] = f"transformers {peer['transformers']} + peft on PyTorch {peer['torch']} CPU, float32, {peer['threads']} threads"
            entry["speed_ratio"] = round(entry["ours"]["tokens_per_s"] / peer["tokens_per_s"], 3)
            entry["peak_rss_ratio"] = round(entry["ours"]["peak_rss_mb_max"] / peer["peak_rss_mb_max"], 3)
            if args.device == "gpu" and peer.get("device_peak_mb"):
                entry["peak_memory_ratio"] = round(entry["ours"]["mlx_peak_memory_mb"] / peer["device_peak_mb"], 3)
        print(f"{mode}: " + ", ".join(f"{k} {v['tokens_per_s']:.1f} tok/s {v['peak_rss_mb_max']:.0f} MB"
                                       for k, v in entry.items() if isinstance(v, dict)))
    results["notes"] = NOTES
    results["ratios"] = ("speed_ratio = ours tokens/s over the peer's (> 1: ours faster); peak_rss_ratio = our peak RSS over "
                         "the peer's (< 1: ours smaller)")
    load_after = os.getloadavg()
    results["machine"]["load_average_before"] = [round(x, 2) for x in load_before]
    results["machine"]["load_average_after"] = [round(x, 2) for x in load_after]
    results["machine"]["note"] = ("2 cores shared with other agents' builds: absolute figures are noisy, the alternating "
                                  "ratios less so; rerun on a quiet machine with the same command")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
