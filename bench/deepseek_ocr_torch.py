#!/usr/bin/env python3
"""The transformers + peft peer of bench/deepseek_ocr.py (run by it, in its own process, with a python
that has torch): a DeepSeek-OCR 2 built from CONFIG with random weights (float32), timed forward
passes or LoRA steps on the inputs ours gets. Prints one JSON line.

  python bench/deepseek_ocr_torch.py forward|lora --config DIR --inputs IN.npz --image IMAGE.png
         [--repeats N] [--warmup W] [--rank 16] [--threads T]

forward: transformers' DeepseekOcr2ForConditionalGeneration as it is (its fused experts).
lora: the same model with each MoE layer's fused experts replaced by per-expert MLP modules (as
DeepSeek's own modeling code holds them: tools/deepseek_ocr_reference.py ExpertMoE, built from
transformers' DeepseekOcr2TextMLP / router, weights copied), so that PEFT can put LoRA on the routed
experts as ours does (q/k/v/o, gate/up/down of the decoder: dense MLP, shared and routed experts).
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["forward", "lora"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (tools/gpu/run.sh)")
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers
    from PIL import Image
    from transformers import DeepseekOcr2Config, DeepseekOcr2ForConditionalGeneration
    from transformers.models.deepseek_ocr2.image_processing_pil_deepseek_ocr2 import DeepseekOcr2ImageProcessorPil

    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    config = DeepseekOcr2Config.from_pretrained(args.config)
    torch.manual_seed(0)
    model = DeepseekOcr2ForConditionalGeneration(config).float()
    with torch.no_grad():  # random SAM tables and separator (the defaults zero them)
        for name, p in model.named_parameters():
            if "pos_embed" in name or "rel_pos" in name or "view_separator" in name:
                p.normal_(0, 0.02)
    data = np.load(args.inputs)
    input_ids = torch.from_numpy(data["input_ids"].astype(np.int64))
    labels = torch.from_numpy(data["labels"].astype(np.int64))
    processed = DeepseekOcr2ImageProcessorPil()(Image.open(args.image).convert("RGB"), return_tensors="pt")
    pixels = processed["pixel_values"].float()
    extra = {"num_local_patches": processed["num_local_patches"]}
    if "pixel_values_local" in processed:
        extra["pixel_values_local"] = processed["pixel_values_local"].float()
    device = torch.device(args.device)
    input_ids, labels, pixels = input_ids.to(device), labels.to(device), pixels.to(device)
    extra = {k: v.to(device) for k, v in extra.items()}
    tokens = int(input_ids.shape[1])
    result = {
        "mode": args.mode, "dtype": "float32", "tokens": tokens,
        "image_tokens": int((input_ids == config.image_token_id).sum()),
        "layers": config.text_config.num_hidden_layers,
        "parameters_stored": sum(p.numel() for p in model.parameters()), "repeats": args.repeats, "warmup": args.warmup,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__,
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
        model.eval().to(device)
        result.update(setup_s=time.perf_counter() - start, peak_rss_after_setup_mb=peak_rss_mb())

        def forward():
            with torch.inference_mode():
                model(input_ids=input_ids, pixel_values=pixels, use_cache=False, **extra)

        times = timed(forward)
        result.update(seconds=times, tokens_per_s=tokens / min(times))
    else:
        import peft
        from deepseek_ocr_reference import ExpertMoE
        from peft import LoraConfig, get_peft_model

        text = config.text_config
        with torch.no_grad():
            for layer in model.model.language_model.layers:
                fused = layer.mlp
                if not hasattr(fused, "experts"):
                    continue
                moe = ExpertMoE(text)
                moe.gate.load_state_dict(fused.gate.state_dict())
                moe.shared_experts.load_state_dict(fused.shared_experts.state_dict())
                inter = text.moe_intermediate_size
                for e, expert in enumerate(moe.experts):
                    expert.gate_proj.weight.copy_(fused.experts.gate_up_proj[e, :inter])
                    expert.up_proj.weight.copy_(fused.experts.gate_up_proj[e, inter:])
                    expert.down_proj.weight.copy_(fused.experts.down_proj[e])
                layer.mlp = moe
        lora = LoraConfig(r=args.rank, lora_alpha=args.rank, lora_dropout=0.0,
                          target_modules=r"model\.language_model\.layers\.\d+\..*(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)")
        model.to(device)
        model = get_peft_model(model, lora)
        model.train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-4)
        losses = []
        result.update(setup_s=time.perf_counter() - start, peak_rss_after_setup_mb=peak_rss_mb())

        def step():
            out = model(input_ids=input_ids, pixel_values=pixels, labels=labels, use_cache=False, **extra)
            out.loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(out.loss.detach()))

        times = timed(step)
        lora_layers = sum(1 for n, m in model.named_modules() if hasattr(m, "lora_A") and "lora_A" not in n.split(".")[-1:])
        result.update(seconds=times, step_s=min(times), tokens_per_s=tokens / min(times),
                      trainable_parameters=sum(p.numel() for p in trainable), lora_layers=lora_layers,
                      peft=peft.__version__, target_tokens=int((labels != -100).sum()), losses=losses)
    result["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        result["device"] = torch.cuda.get_device_name(device)
        result["device_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(result, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
