#!/usr/bin/env python3
"""PyTorch peer of Benchmarks/TrainBench (run by bench/train.py with a python that has torch,
transformers and peft): the same training steps on transformers' PP-OCRv5 recognizer, or its
PP-OCRv6 small recognizer (PPOCRV6SmallRecForTextRecognition) for a v6 model folder.

The model is built from our model folder by tools/check_peft_adapter.py (transformers' own class
and parameter names; the deployed backbone convolutions become one k x k branch, so the
transformers backbone also runs its 1x1 and identity branches: slightly more work than ours).
LoRA: peft on qkv, projection, fc1, fc2 and head.head (r 8, alpha 16), frozen layers in eval mode
as our trainer runs them; full: every parameter, training mode. Loss: torch ctc_loss (blank 0) on
the log-softmax of the classifier's logits; AdamW (lr 5e-4, weight decay 0.01), clipping at 1.0.
Prints one JSON line as TrainBench does.
"""
import argparse
import json
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import check_peft_adapter as cpa  # noqa: E402


def is_v6(folder):
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)["model_type"] == "pp_ocrv6_small_rec"


def build_v6(folder):
    """transformers' PPOCRV6SmallRecForTextRecognition from our folder (same config fields and names;
    our conv weights are channels-last)."""
    from transformers import PPOCRV6SmallRecConfig, PPOCRV6SmallRecForTextRecognition

    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    config.pop("model_type")
    for key in ("mlp_ratio", "layer_norm_eps", "attention_dropout"):
        config[key] = float(config[key])  # JSON writes 2.0 as 2; transformers' strict config wants floats
    model = PPOCRV6SmallRecForTextRecognition(PPOCRV6SmallRecConfig(**config)).eval()
    weights = cpa.read_safetensors(os.path.join(folder, "model.safetensors"))
    state = {k: torch.from_numpy(np.ascontiguousarray(v.transpose(0, 3, 1, 2) if v.ndim == 4 else v)) for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"PP-OCRv6 weights do not fit transformers' model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--method", default="lora")
    ap.add_argument("--steps", type=int, default=14)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (tools/gpu/run.sh)")
    ap.add_argument("--seconds", type=float, default=10, help="--method infer: timed seconds after the warm-up")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    device = torch.device(args.device)

    data = cpa.read_safetensors(args.inputs)
    pixels = torch.from_numpy(np.ascontiguousarray(data["pixels"].transpose(0, 3, 1, 2)))
    targets = torch.from_numpy(data["targets"].astype(np.int64))
    lengths = torch.from_numpy(data["target_lengths"].astype(np.int64))
    model = build_v6(args.model) if is_v6(args.model) else cpa.build_model(args.model)[0]
    model.to(device)
    pixels, targets, lengths = pixels.to(device), targets.to(device), lengths.to(device)
    if args.method == "infer":
        return infer(model.eval(), pixels, args, device)
    if args.method == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["qkv", "projection", "fc1", "fc2", "head.head"])
        net = get_peft_model(model, config).base_model.model
        net.eval()  # every base layer is frozen: BatchNorm keeps its running statistics, as ours
    elif args.method == "full":
        net = model
        net.train()
        # As ours: a batch norm that the ONNX graph had folded into its convolution (imported with
        # mean 0 and variance 1 - eps) keeps normalizing with those statistics while its scale and
        # shift train; with batch statistics the network's function changes at the first step.
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                if bool((m.running_mean == 0).all()) and bool((m.running_var == torch.tensor(1 - m.eps, dtype=torch.float32)).all()):
                    m.eval()
    else:
        print(json.dumps({"error": f"{args.method}: no PyTorch peer"}))
        return
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    batches = [(pixels[i : i + args.batch], targets[i : i + args.batch], lengths[i : i + args.batch])
               for i in range(0, pixels.shape[0] - args.batch + 1, args.batch)]

    times, losses = [time.perf_counter()], []
    for step in range(args.steps):
        x, y, n = batches[step % len(batches)]
        features = net.model(pixel_values=x).last_hidden_state
        logits = net.head.head(net.head.encoder(features).last_hidden_state)  # [N, T, C]
        log_probs = F.log_softmax(logits, dim=-1).transpose(0, 1)
        steps = torch.full((x.shape[0],), log_probs.shape[0], dtype=torch.long, device=device)
        loss = F.ctc_loss(log_probs, y, steps, n, blank=0, reduction="mean", zero_infinity=True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss))
        times.append(time.perf_counter())
    timed = args.steps - args.warmup
    seconds = times[-1] - times[args.warmup]
    per_step = sorted((times[i] - times[i - 1]) * 1000 for i in range(args.warmup + 1, len(times)))
    print(json.dumps({
        "method": args.method, "steps_per_s": timed / seconds, "samples_per_s": timed * args.batch / seconds,
        "ms_per_step_median": per_step[len(per_step) // 2], "losses": losses,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **device_peak(device),
        "trainable_parameters": sum(p.numel() for p in params),
    }))


def device_peak(device):
    """The GPU's peak allocation (torch's allocator), as TrainBench reports the engine's."""
    if device.type != "cuda":
        return {}
    return {"device": torch.cuda.get_device_name(device), "device_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20}


def infer(model, pixels, args, device):
    """Forward passes of batches of --batch lines (softmax probabilities, as PPOCRBench's bench), lines/s."""
    batch = pixels[: args.batch]
    if batch.shape[0] < args.batch:
        batch = batch.repeat((args.batch + batch.shape[0] - 1) // batch.shape[0], 1, 1, 1)[: args.batch]

    def once():
        with torch.inference_mode():
            out = model(pixel_values=batch)
            logits = out.logits if hasattr(out, "logits") else out[0]
            probabilities = F.softmax(logits, dim=-1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return probabilities

    for _ in range(1 if args.seconds < 5 else 3):  # warm-up
        once()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        once()
        count += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"method": "infer", "lines_per_s": count * args.batch / seconds,
                      "ms_per_batch": seconds * 1000 / count, "batch": args.batch, **device_peak(device)}))


if __name__ == "__main__":
    main()
