#!/usr/bin/env python3
"""Checks that a PP-OCR run's LoRA adapter loads with PEFT and equals our merged export.

    python tools/check_peft_adapter.py --base MODEL_DIR --run RUN [--merged DIR] [--lines 16]

MODEL_DIR is the base model folder `ocrtune train --model` used (written by `ocrtune import
ppocr`); RUN the run folder, holding `adapter/` (adapter_config.json + adapter_model.safetensors);
DIR a merged export of the run (`ocrtune export --merge RUN --out DIR`; default RUN/model).

What it does, with transformers' `PPOCRV5MobileRecForTextRecognition` (PyTorch, CPU):
1. builds the transformers model from our config.json (field names are transformers' own; the
   backbone's deployed `reparam_conv` layers become the first k x k branch of each
   LearnableRepLayer with an identity BatchNorm, the other branches zeroed — the same function);
   channels-last convolution weights are transposed back to PyTorch's layout; the SVTR blocks'
   LayerNorms get our `block_layer_norm_eps` (PaddleOCR's 1e-5, transformers uses layer_norm_eps);
2. loads RUN/adapter onto it with `peft.PeftModel.from_pretrained` and checks that every tensor of
   the adapter file landed in a LoRA layer (none missing, none left over);
3. builds a second transformers model from the merged export;
4. runs both (and the bare base) on the same inputs — random 48 x 320 lines in the model's input
   range — and compares the class probabilities and the greedy class sequences.
Exits 1 on a mismatch (max |p_peft - p_merged| > --tolerance, any greedy difference), or when the
adapter changes nothing (then the comparison would prove nothing).

Dev tool (torch + transformers + peft, e.g. /tmp/torchvenv); not part of `make test`.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


# MARK: - Files

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64}.get(spec["dtype"])
        if dtype is None:
            raise SystemExit(f"{path}: {name} has dtype {spec['dtype']}; export in float32 for this check")
        s, e = spec["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + s : 8 + n + e], dtype=dtype).reshape(spec["shape"]).astype(np.float32)
    return out


# MARK: - Our folder → transformers

def transformers_config(ours):
    from transformers.models.pp_ocrv5_mobile_rec import PPOCRV5MobileRecConfig

    b = ours["backbone_config"]
    if ours["model_type"] not in ("pp_ocrv5_mobile_rec", "pp_ocrv4_mobile_rec"):
        raise SystemExit(f"config.json: model_type {ours['model_type']} is not a PP-OCR mobile recognizer")
    backbone = {
        "model_type": "pp_lcnet_v3",
        "scale": b["scale"],
        "block_configs": b["block_configs"],
        "stem_channels": b["stem_channels"],
        "stem_stride": b["stem_stride"],
        "reduction": b["reduction"],
        "divisor": b["divisor"],
        "hidden_act": b["hidden_act"],
        # The deployed form has one fused convolution; one k x k branch holds it exactly.
        "conv_symmetric_num": 1 if b.get("reparameterized", True) else b["conv_symmetric_num"],
        "out_features": ["stage2", "stage3", "stage4", "stage5"],
        "out_indices": [2, 3, 4, 5],
    }
    for field in ("pool_kernel_size",):
        if ours.get(field, [3, 2]) != [3, 2]:
            raise SystemExit(f"config.json: {field} {ours[field]} differs from transformers' fixed (3, 2)")
    return PPOCRV5MobileRecConfig(
        backbone_config=backbone,
        hidden_act=ours["hidden_act"],
        hidden_size=ours["hidden_size"],
        mlp_ratio=float(ours["mlp_ratio"]),
        depth=ours["depth"],
        head_out_channels=ours["head_out_channels"],
        conv_kernel_size=ours["conv_kernel_size"],
        qkv_bias=ours["qkv_bias"],
        num_attention_heads=ours["num_attention_heads"],
        attention_dropout=float(ours["attention_dropout"]),
        layer_norm_eps=float(ours["layer_norm_eps"]),
    )


def torch_state(ours_weights, reparameterized, batch_norm_eps):
    """Our keys and layouts → transformers' state dict."""
    state = {}
    for key, a in ours_weights.items():
        if a.ndim == 4:  # channels-last O,H,W,I → O,I,H,W
            a = a.transpose(0, 3, 1, 2)
        if reparameterized and ".reparam_conv." in key:
            layer = key.split(".reparam_conv.")[0]
            branch = layer + ".conv_symmetric.0"
            if key.endswith(".weight"):
                state[branch + ".convolution.weight"] = a
            else:  # the fused bias becomes the branch BatchNorm's shift, its scale 1
                c = a.shape[0]
                state[branch + ".normalization.bias"] = a
                state[branch + ".normalization.weight"] = np.ones(c, np.float32)
                state[branch + ".normalization.running_mean"] = np.zeros(c, np.float32)
                state[branch + ".normalization.running_var"] = np.full(c, 1 - batch_norm_eps, np.float32)
            continue
        state[key] = a
    return state


def build_model(folder, weights_file=None):
    """transformers' model holding the weights of one of our model folders, in eval mode."""
    import torch
    from transformers.models.pp_ocrv5_mobile_rec import PPOCRV5MobileRecForTextRecognition

    with open(os.path.join(folder, "config.json")) as f:
        ours = json.load(f)
    config = transformers_config(ours)
    model = PPOCRV5MobileRecForTextRecognition(config).eval()
    reparameterized = ours["backbone_config"].get("reparameterized", True)
    bn_eps = float(ours.get("batch_norm_eps", 1e-5))
    state = torch_state(read_safetensors(weights_file or os.path.join(folder, "model.safetensors")), reparameterized, bn_eps)
    own = model.state_dict()
    if reparameterized:
        # Branches the deployed form fused away contribute nothing: zero BatchNorm scale and shift.
        for key in own:
            if key in state or key.endswith("num_batches_tracked"):
                continue
            if (".conv_small_symmetric." in key or ".identity." in key) and (key.endswith(".weight") or key.endswith(".bias")):
                state[key] = np.zeros(own[key].shape, np.float32)
            elif ".conv_small_symmetric." in key or ".identity." in key:
                state[key] = (np.ones if key.endswith("running_var") else np.zeros)(own[key].shape, np.float32)
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise SystemExit(f"{folder}: weights do not map onto transformers' model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for k, v in state.items():
        if tuple(own[k].shape) != v.shape:
            raise SystemExit(f"{folder}: {k} has shape {v.shape}, transformers expects {tuple(own[k].shape)}")
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False)
    for block in model.head.encoder.svtr_block:
        block.layer_norm1.eps = float(ours.get("block_layer_norm_eps", ours["layer_norm_eps"]))
        block.layer_norm2.eps = float(ours.get("block_layer_norm_eps", ours["layer_norm_eps"]))
    return model, ours


# MARK: - Check

def probabilities(model, pixels):
    import torch

    with torch.no_grad():
        return model(pixel_values=torch.from_numpy(pixels)).last_hidden_state.numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the base model folder the run trained")
    ap.add_argument("--run", required=True, help="the run folder (holds adapter/)")
    ap.add_argument("--merged", help="merged export of the run (default RUN/model)")
    ap.add_argument("--lines", type=int, default=16)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from peft import PeftModel

    torch.manual_seed(args.seed)
    adapter_dir = os.path.join(args.run, "adapter")
    merged_dir = args.merged or os.path.join(args.run, "model")
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        adapter_config = json.load(f)
    adapter = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))

    base, ours = build_model(args.base)
    with open(os.path.join(merged_dir, "config.json")) as f:
        if json.load(f)["head_out_channels"] != ours["head_out_channels"]:
            raise SystemExit("the run extended the vocabulary: its head no longer fits the base model, so the adapter "
                             "alone cannot be loaded onto it (train without new characters for this check)")
    rng = np.random.default_rng(args.seed)
    pixels = rng.uniform(-1, 1, size=(args.lines, 3, ours["image_height"], args.width)).astype(np.float32)
    p_base = probabilities(base, pixels)

    peft_model = PeftModel.from_pretrained(base, adapter_dir).eval()
    # Every adapter tensor must sit in a LoRA layer under PEFT's own name.
    loaded = {k.replace(".default", ""): v for k, v in peft_model.state_dict().items() if "lora_" in k}
    missing = sorted(set(adapter) - set(loaded))
    extra = sorted(set(loaded) - set(adapter))
    problems = []
    if missing:
        problems.append(f"adapter tensors PEFT did not place: {missing[:5]}")
    if extra:
        problems.append(f"LoRA tensors PEFT created that the file lacks (left at their init): {extra[:5]}")
    for k in sorted(set(adapter) & set(loaded)):
        d = float(np.abs(loaded[k].detach().numpy() - adapter[k]).max())
        if d > 0:
            problems.append(f"{k}: loaded value differs from the file by {d}")
    p_peft = probabilities(peft_model, pixels)

    merged, _ = build_model(merged_dir)
    p_merged = probabilities(merged, pixels)

    diff = float(np.abs(p_peft - p_merged).max())
    effect = float(np.abs(p_peft - p_base).max())
    greedy_peft, greedy_merged = p_peft.argmax(-1), p_merged.argmax(-1)
    greedy_same = int((greedy_peft == greedy_merged).all(axis=1).sum())
    report = {
        "adapter": adapter_dir,
        "merged": merged_dir,
        "target_modules": adapter_config.get("target_modules"),
        "r": adapter_config.get("r"),
        "lora_alpha": adapter_config.get("lora_alpha"),
        "lora_layers": len({k.rsplit(".lora_", 1)[0] for k in adapter}),
        "lines": args.lines,
        "max_abs_diff_peft_vs_merged": diff,
        "max_abs_diff_peft_vs_base": effect,
        "greedy_identical_lines": f"{greedy_same}/{args.lines}",
    }
    print(json.dumps(report, indent=2))
    if diff > args.tolerance:
        problems.append(f"PEFT and the merged export differ by {diff:.3g} (> {args.tolerance})")
    if greedy_same != args.lines:
        problems.append(f"greedy outputs differ on {args.lines - greedy_same} lines")
    if effect <= 10 * args.tolerance:
        problems.append(f"the adapter changes the outputs by only {effect:.3g}: nothing was checked")
    if problems:
        print("MISMATCH:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("OK: PEFT loads the adapter and base + adapter equals the merged export")


if __name__ == "__main__":
    main()
