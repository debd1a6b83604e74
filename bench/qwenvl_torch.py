#!/usr/bin/env python3
"""The transformers + peft peer of bench/qwenvl.py (run by it, in its own process, with a python that
has torch): a Qwen2.5-VL built from CONFIG with random weights, timed forward passes or LoRA steps on
the inputs ours gets. Prints one JSON line.

  python bench/qwenvl_torch.py forward|lora --config CONFIG.json --inputs IN.npz [--dtype bfloat16|float32]
         [--repeats N] [--warmup W] [--rank 16] [--threads T]
"""
import argparse
import json
import resource
import sys
import time


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["forward", "lora"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (tools/gpu/run.sh)")
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    start = time.perf_counter()
    config = Qwen2_5_VLConfig.from_pretrained(args.config)
    torch.manual_seed(0)
    # Build directly in the compute dtype so that a float32 copy of the model never exists.
    torch.set_default_dtype(dtype)
    model = Qwen2_5_VLForConditionalGeneration(config)
    torch.set_default_dtype(torch.float32)
    device = torch.device(args.device)
    model.to(device=device, dtype=dtype)

    data = np.load(args.inputs)
    input_ids = torch.from_numpy(data["input_ids"].astype(np.int64))
    labels = torch.from_numpy(data["labels"].astype(np.int64))
    pixels = torch.from_numpy(data["pixels"]).to(dtype)
    grid = torch.from_numpy(data["grid"].astype(np.int64)).reshape(1, 3)
    input_ids, labels, pixels, grid = (t.to(device) for t in (input_ids, labels, pixels, grid))
    tokens = int(input_ids.shape[1])
    result = {
        "mode": args.mode, "dtype": args.dtype, "tokens": tokens,
        "image_tokens": int((input_ids == config.image_token_id).sum()),
        "layers": config.text_config.num_hidden_layers, "vision_depth": config.vision_config.depth,
        "parameters_stored": sum(p.numel() for p in model.parameters()), "repeats": args.repeats, "warmup": args.warmup,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__,
        "setup_s": time.perf_counter() - start, "peak_rss_after_setup_mb": peak_rss_mb(),
    }

    def timed(body):
        for _ in range(args.warmup):
            body()
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            body()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - t)
        return times

    if args.mode == "forward":
        model.eval()

        def forward():
            with torch.inference_mode():
                model(input_ids=input_ids, pixel_values=pixels, image_grid_thw=grid, use_cache=False)

        times = timed(forward)
        result.update(seconds=times, tokens_per_s=tokens / min(times))
    else:
        import peft
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                          target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
        model = get_peft_model(model, lora)
        model.train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-4)
        losses = []

        def step():
            out = model(input_ids=input_ids, pixel_values=pixels, image_grid_thw=grid, labels=labels, use_cache=False)
            out.loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(out.loss.detach()))

        times = timed(step)
        result.update(seconds=times, step_s=min(times), tokens_per_s=tokens / min(times),
                      trainable_parameters=sum(p.numel() for p in trainable),
                      adapter_dtype=str(trainable[0].dtype).replace("torch.", ""), peft=peft.__version__,
                      target_tokens=int((labels != -100).sum()), losses=losses)
    result["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        result["device"] = torch.cuda.get_device_name(device)
        result["device_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(result, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
