#!/usr/bin/env python3
"""Checks that a DeepSeek-OCR run's LoRA adapter loads with PEFT and equals our merged export.

    /work/torchvenv/bin/python tools/check_deepseek_peft_adapter.py --base MODEL_DIR --run RUN \
        [--merged DIR] [--images a.png b.png] [--mode base]

MODEL_DIR is the base folder `ocrtune train --model` used; RUN the run folder holding `adapter/`;
DIR a merged export (`ocrtune export --merge RUN --out DIR`; default RUN/model).

DeepSeek-OCR (v1, model_type deepseek_vl_v2): the reference is tools/deepseek_ocr_reference.py,
built from transformers' components with the published module names (`model.layers.N.mlp.
experts.K.gate_proj`, …), which is what our adapter names. Steps:
1. build the reference from MODEL_DIR and load RUN/adapter with `peft.PeftModel.from_pretrained`;
   every adapter tensor must land in a LoRA layer (none missing, none left at its init);
2. build a second reference from the merged export;
3. run base, base + adapter (PEFT) and merged on the same prompts (images processed as the
   published `infer` does, --mode) and compare the logits of every position and their argmax.
Exits 1 on a mismatch (max |logits_peft − logits_merged| > --tolerance, any argmax difference)
or when the adapter changes nothing.

DeepSeek-OCR 2 (deepseek_ocr2) is checked on transformers' DeepseekOcr2ForConditionalGeneration:
its routed experts are fused 3-D parameters, not Linear modules, so PEFT cannot place LoRA on them;
runs whose adapter targets routed experts are refused (train with e.g. --target
'model.layers.*.q_proj,model.layers.*.k_proj,...' for this check). target_modules are renamed to
transformers' module names (model.layers. → model.language_model.layers.); transformers renames the
adapter's tensor keys itself.

Dev tool (torch + transformers 5.23 + peft); not part of `make test`.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepseek_ocr_reference as ref  # noqa: E402


def load_v1(folder: str):
    config = json.loads(Path(folder, "config.json").read_text())
    model = ref.build_v1(config).eval()
    model.load_state_dict(ref.to_reference_state(load_file(os.path.join(folder, "model.safetensors"))))
    return model


def v1_inputs(folder: str, images: list, mode: str):
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    out = []
    for path in images:
        view, crops, grid, count = ref.process_image(Image.open(path).convert("RGB"), mode)
        out.append((torch.tensor([ref.prompt_ids(tokenizer, "<image>\nFree OCR.", [count])]), [[(view, crops, grid)]]))
    return out


def v2_adapter(adapter_dir: str, into: str):
    """The adapter with its target_modules in transformers' module names (routed experts refused).
    The weights file stays as written: transformers 5 renames adapter keys with the model's
    conversion mapping when PEFT loads them (model.layers. → model.language_model.layers.), but
    not target_modules."""
    weights = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    if any(".mlp.experts." in k for k in weights):
        raise SystemExit("the adapter targets routed experts, which transformers' DeepSeek-OCR 2 fuses into 3-D "
                         "parameters PEFT cannot adapt; train with --target 'model.layers.*.q_proj,...' for this check")
    shutil.copy(os.path.join(adapter_dir, "adapter_model.safetensors"), into)
    config = json.loads(Path(adapter_dir, "adapter_config.json").read_text())
    config["target_modules"] = [t.replace("model.layers.", "model.language_model.layers.") for t in config["target_modules"]]
    Path(into, "adapter_config.json").write_text(json.dumps(config))
    return {k.replace("base_model.model.model.layers.", "base_model.model.model.language_model.layers."): v
            for k, v in weights.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--merged")
    ap.add_argument("--images", nargs="*")
    ap.add_argument("--mode", default="base", help="v1 processing mode for the check's prompts")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()

    from peft import PeftModel

    torch.manual_seed(0)
    adapter_dir = os.path.join(args.run, "adapter")
    merged_dir = args.merged or os.path.join(args.run, "model")
    images = args.images or sorted(str(p) for p in Path(args.base, "images").glob("*.png"))[:2]
    if not images:
        raise SystemExit("no images: pass --images")
    kind = json.loads(Path(args.base, "config.json").read_text())["model_type"]
    adapter = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))

    if kind == "deepseek_vl_v2":
        base, merged = load_v1(args.base), load_v1(merged_dir)
        inputs = v1_inputs(args.base, images, args.mode)

        def logits(model, one):
            ids, imgs = one
            with torch.no_grad():
                return model(ids, imgs)[0]

        base_logits = [logits(base, one) for one in inputs]
        peft_model = PeftModel.from_pretrained(base, adapter_dir).eval()
        expected_adapter = adapter
    elif kind == "deepseek_ocr2":
        from transformers import DeepseekOcr2ForConditionalGeneration, DeepseekOcr2Processor

        processor = DeepseekOcr2Processor.from_pretrained(args.base)
        base = DeepseekOcr2ForConditionalGeneration.from_pretrained(args.base, dtype=torch.float32).eval()
        merged = DeepseekOcr2ForConditionalGeneration.from_pretrained(merged_dir, dtype=torch.float32).eval()
        inputs = [processor(images=Image.open(p).convert("RGB"), text="<image>\nFree OCR.", return_tensors="pt") for p in images]

        def logits(model, one):
            with torch.no_grad():
                return model(**one).logits[0]

        base_logits = [logits(base, one) for one in inputs]
        renamed_dir = tempfile.mkdtemp()
        expected_adapter = v2_adapter(adapter_dir, renamed_dir)
        peft_model = PeftModel.from_pretrained(base, renamed_dir).eval()
    else:
        raise SystemExit(f"{args.base}: model_type {kind} is not DeepSeek-OCR")

    loaded = {k.replace(".default", ""): v for k, v in peft_model.state_dict().items() if "lora_" in k}
    wanted = {k.replace("base_model.model.", "", 1): v for k, v in expected_adapter.items()}
    loaded = {k.replace("base_model.model.", "", 1): v for k, v in loaded.items()}
    problems = []
    missing, extra = sorted(set(wanted) - set(loaded)), sorted(set(loaded) - set(wanted))
    if missing:
        problems.append(f"adapter tensors PEFT did not place: {missing[:5]} ({len(missing)})")
    if extra:
        problems.append(f"LoRA tensors PEFT created that the file lacks: {extra[:5]} ({len(extra)})")
    for k in sorted(set(wanted) & set(loaded)):
        d = float((loaded[k].float() - wanted[k].float()).abs().max())
        if d > 0:
            problems.append(f"{k}: loaded value differs from the file by {d}")

    peft_logits = [logits(peft_model, one) for one in inputs]
    merged_logits = [logits(merged, one) for one in inputs]
    diff = max(float((a - b).abs().max()) for a, b in zip(peft_logits, merged_logits))
    effect = max(float((a - b).abs().max()) for a, b in zip(peft_logits, base_logits))
    positions = sum(a.shape[0] for a in peft_logits)
    same = sum(int((a.argmax(-1) == b.argmax(-1)).sum()) for a, b in zip(peft_logits, merged_logits))
    report = {
        "model_type": kind, "adapter": adapter_dir, "merged": merged_dir, "images": images,
        "lora_layers": len({k.rsplit(".lora_", 1)[0] for k in adapter}),
        "max_abs_logit_diff_peft_vs_merged": diff, "max_abs_logit_diff_peft_vs_base": effect,
        "argmax_identical_positions": f"{same}/{positions}",
    }
    print(json.dumps(report, indent=2))
    if diff > args.tolerance:
        problems.append(f"PEFT and the merged export differ by {diff:.3g} (> {args.tolerance})")
    if same != positions:
        problems.append(f"argmax differs at {positions - same} positions")
    if effect <= 10 * args.tolerance:
        problems.append(f"the adapter changes the logits by only {effect:.3g}: nothing was checked")
    if problems:
        print("MISMATCH:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("OK: PEFT loads the adapter and base + adapter equals the merged export")


if __name__ == "__main__":
    main()
