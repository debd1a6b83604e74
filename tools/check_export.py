#!/usr/bin/env python3
"""Checks ocrtune's exports with the runtimes their deployers use (dev tool, outside `make test`).

Needs a Python with torch, transformers >= 5, peft, onnxruntime and (for `rapidocr`) rapidocr
with python-bidi; each check prints what it compared and, with --record NAME, merges its result
into bench/results/export.json.

  # TrOCR ONNX: onnxruntime's greedy decoding (merged decoder, KV cache) against transformers' generate
  check_export.py trocr-onnx --model MODEL --export ONNX_DIR --listing DATA_JSONL_DIR
  # latex-ocr-junia ONNX: onnxruntime's greedy decoding against the package's own generate
  check_export.py latex-onnx --export ONNX_DIR --package UNPACKED_WHEEL --listing DATA_JSONL_DIR
  # hf: from_pretrained loads every weight and gives the reference's outputs
  check_export.py hf --export HF_DIR --reference MODEL_DIR     (TrOCR, Qwen-VL: transformers' own load)
  check_export.py hf --export HF_DIR --reference ONNX_DIR      (PP-OCR: onnxruntime on rec.onnx)
  # peft: the adapter loads into peft; base + adapter equals the merged hf export
  check_export.py peft --export PEFT_DIR --base MODEL_DIR --merged HF_DIR
  # GGUF: gguf-py reads every tensor back (F32/F16/BF16 equal, Q8_0 within its step and byte-equal to gguf-py's)
  check_export.py gguf --export GGUF_DIR --reference HF_DIR      (DeepSeek-OCR: the original-layout model folder)
  # llama.cpp: llama-cpp-python's logits and greedy tokens on a text probe (against `logits`'s
  # transformers run), and greedy text with the mmproj on an image (Qwen-VL)
  check_export.py llama --export GGUF_DIR --reference-logits ref.npy [--image IMG --ocrtune-text TEXT]
  # ... and Qwen-VL's image path stage by stage (preprocessing, mmproj embeddings with Qwen3-VL's deepstack
  # features, prompt ids, logits, greedy ids) against transformers on matched inputs (`qwen-image-ref` in a
  # Python with torch first); a Qwen3-VL mmproj is run in the layout llama.cpp reads (see llama_cpp_mmproj)
  check_export.py qwen-image-ref --model MODEL_DIR --image IMG --out ref.npz
  check_export.py llama --export GGUF_DIR --reference-logits ref.npy --image IMG --image-reference ref.npz [--ocrtune-matched-json LINE]
  # DeepSeek-OCR in llama.cpp with its mmproj on an image, against `ocrtune predict --output-ids`
  check_export.py llama-image --export GGUF_DIR --image IMG --ocrtune-json LINE
  # mlx: mlx-vlm loads the folder; its logits against transformers' (saved by a Python with torch)
  check_export.py logits --model MODEL_DIR --out ref.npy && check_export.py mlx --export MLX_DIR --reference-logits ref.npy
  # RapidOCR reads a PP-OCR ONNX export (custom Rec.model_path); CER against `ocrtune eval`'s
  check_export.py rapidocr --export ONNX_DIR --listing DATA_JSONL_DIR --split test --eval EVAL_RUN [--rtl]

DATA_JSONL_DIR is `ocrtune data export DATASET --format jsonl --out DIR` (data.jsonl + images/).
"""

import argparse
import json
import math
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "export.json")


# MARK: - Shared

def record(name, result):
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if not name:
        return
    data = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            data = json.load(f)
    data[name] = result
    with open(RESULTS, "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False, sort_keys=True)
        f.write("\n")


def listing(folder, split):
    rows = []
    with open(os.path.join(folder, "data.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if row.get("split") == split:
                rows.append((os.path.join(folder, row["image"]), row["text"]))
    if not rows:
        raise SystemExit(f"{folder}: no {split} samples")
    return rows


def edits(a, b):
    """Levenshtein distance over code points."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(pairs):
    """Corpus CER (jiwer's: total edits / total reference characters) and exact match."""
    total = sum(len(r) for r, _ in pairs)
    return sum(edits(r, p) for r, p in pairs) / max(total, 1), sum(r == p for r, p in pairs) / len(pairs)


def model_type(folder):
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)["model_type"]


def transformers_class(kind):
    import transformers

    return {
        "vision-encoder-decoder": transformers.VisionEncoderDecoderModel,
        "qwen2_5_vl": transformers.Qwen2_5_VLForConditionalGeneration,
        "qwen3_vl": transformers.Qwen3VLForConditionalGeneration,
        "pp_ocrv5_mobile_rec": transformers.PPOCRV5MobileRecForTextRecognition,
        "deepseek_ocr2": transformers.DeepseekOcr2ForConditionalGeneration,
    }[kind]


def load_hf(folder):
    """A transformers model from `folder`, failing on any missing or unexpected weight."""
    cls = transformers_class(model_type(folder))
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    missing = [k for k in problems.get("missing_keys", []) if not k.endswith("num_batches_tracked")]
    if missing or problems.get("unexpected_keys") or problems.get("mismatched_keys"):
        raise SystemExit(f"{folder}: from_pretrained did not load every weight: {problems}")
    return model.eval()


# MARK: - TrOCR ONNX

def ort_greedy(encoder, decoder, pixels, start, eos, pad, max_new, suppress=()):
    hidden = encoder.run(None, {"pixel_values": pixels})[0]
    names = [i.name for i in decoder.get_inputs()]
    layers = sum(1 for n in names if n.endswith(".decoder.key"))
    shape = decoder.get_inputs()[2].shape
    heads, head_dim = shape[1], shape[3]
    batch = pixels.shape[0]
    pasts = {n: np.zeros((batch, heads, 0, head_dim), np.float32) for n in names if n.startswith("past_key_values")}
    current = np.full((batch, 1), start, np.int64)
    out = [[] for _ in range(batch)]
    done = [False] * batch
    outputs = [o.name for o in decoder.get_outputs()]
    for step in range(max_new):
        feeds = dict(pasts, input_ids=current, encoder_hidden_states=hidden, use_cache_branch=np.array([step > 0]))
        result = dict(zip(outputs, decoder.run(None, feeds)))
        logits = result["logits"][:, -1].copy()
        logits[:, list(suppress)] = -1e9
        best = logits.argmax(-1)
        for row in range(batch):
            if not done[row]:
                out[row].append(int(best[row]))
                done[row] = int(best[row]) == eos
        if all(done):
            break
        current = np.array([[pad if done[r] else out[r][-1]] for r in range(batch)], np.int64)
        for name, value in result.items():
            if name.startswith("present."):
                pasts["past_key_values." + name[len("present."):]] = value
    return out


def check_trocr_onnx(args):
    import onnxruntime as ort
    import torch
    from PIL import Image
    from transformers import AutoTokenizer, VisionEncoderDecoderModel, ViTImageProcessor

    model = VisionEncoderDecoderModel.from_pretrained(args.model).eval()
    processor = ViTImageProcessor.from_pretrained(args.model)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    rows = listing(args.listing, args.split)[: args.limit]
    images = [Image.open(p).convert("RGB") for p, _ in rows]
    pixels = processor(images=images, return_tensors="np")["pixel_values"].astype(np.float32)
    config = model.config
    start = config.decoder_start_token_id
    eos = config.eos_token_id if config.eos_token_id is not None else config.decoder.eos_token_id
    pad = config.pad_token_id if config.pad_token_id is not None else eos
    with torch.no_grad():
        generated = model.generate(torch.from_numpy(pixels), max_new_tokens=args.max_new_tokens, do_sample=False, num_beams=1)
    reference = []
    for row in generated.tolist():
        ids = row[1:]
        if eos in ids:
            ids = ids[: ids.index(eos) + 1]
        reference.append(ids)
    result = {"samples": len(rows), "max_new_tokens": args.max_new_tokens, "variants": {}}
    onnx = os.path.join(args.export, "onnx")
    for variant in args.variants.split(","):
        suffix = "" if variant == "fp32" else f"_{variant}"
        encoder = ort.InferenceSession(os.path.join(onnx, f"encoder_model{suffix}.onnx"))
        decoder = ort.InferenceSession(os.path.join(onnx, f"decoder_model_merged{suffix}.onnx"))
        ids = ort_greedy(encoder, decoder, pixels, start, eos, pad, args.max_new_tokens)
        same = sum(a == b for a, b in zip(ids, reference))
        texts = [tokenizer.decode(i, skip_special_tokens=True) for i in ids]
        c, exact = cer([(t, p) for (_, t), p in zip(rows, texts)])
        result["variants"][variant] = {"same_ids_as_transformers_generate": f"{same}/{len(rows)}", "cer": c, "exact_match": exact}
    failed = result["variants"].get("fp32", {}).get("same_ids_as_transformers_generate") != f"{len(rows)}/{len(rows)}"
    record(args.record, result)
    return 1 if failed else 0


# MARK: - latex-ocr-junia ONNX

def check_latex_onnx(args):
    """onnxruntime's greedy decoding of the export against the package's own PyTorch model
    (`LatexOCRModel.generate`, beam 1) on the package's preprocessing of the same images."""
    import onnxruntime as ort
    import torch

    sys.path.insert(0, args.package)
    from latex_ocr_junia import data, model as M, tokenizer as T, utils

    assets = os.path.join(args.package, "latex_ocr_junia", "assets")
    config = utils.load_model_config(os.path.join(assets, "model_config.json"))
    tok = T.LatexTokenizer.load(os.path.join(assets, "tokenizer.json"))
    net = M.build_model(config).eval()
    M.load_checkpoint(net, os.path.join(assets, "best.pt"))
    rows = listing(args.listing, args.split)[: args.limit]
    images = torch.stack([data.load_and_preprocess_image(p, config.image_height, config.image_width) for p, _ in rows])
    with torch.no_grad():
        generated = net.generate(images, tok.bos_id, tok.eos_id, config.max_length, beam_size=1)
        encoded = net.encode(images)
    reference = []
    for row in generated.tolist():
        ids = row[1:]
        reference.append(ids[: ids.index(tok.eos_id) + 1] if tok.eos_id in ids else ids)
    pixels = images.numpy().astype(np.float32)
    result = {"samples": len(rows), "peer": "latex-ocr-junia 0.1.3's LatexOCRModel.generate (PyTorch, beam 1)", "variants": {}}
    onnx = os.path.join(args.export, "onnx")
    for variant in args.variants.split(","):
        suffix = "" if variant == "fp32" else f"_{variant}"
        encoder = ort.InferenceSession(os.path.join(onnx, f"encoder_model{suffix}.onnx"))
        decoder = ort.InferenceSession(os.path.join(onnx, f"decoder_model_merged{suffix}.onnx"))
        ids = ort_greedy(encoder, decoder, pixels, tok.bos_id, tok.eos_id, config.pad_token_id, config.max_length - 1,
                         suppress=(config.pad_token_id, tok.bos_id))
        same = sum(a == b for a, b in zip(ids, reference))
        hidden = encoder.run(None, {"pixel_values": pixels})[0]
        texts = [tok.decode(np.array(i)) for i in ids]
        c, exact = cer([(t, p) for (_, t), p in zip(rows, texts)])
        result["variants"][variant] = {
            "same_ids_as_package_generate": f"{same}/{len(rows)}",
            "encoder_largest_difference": float(np.abs(hidden - encoded.numpy()).max()),
            "cer": c, "exact_match": exact,
        }
    failed = result["variants"].get("fp32", {}).get("same_ids_as_package_generate") != f"{len(rows)}/{len(rows)}"
    record(args.record, result)
    return 1 if failed else 0


# MARK: - hf

def check_hf(args):
    import torch

    kind = model_type(args.export)
    exported = load_hf(args.export)
    torch.manual_seed(0)
    result = {"model_type": kind, "loaded": "every weight (from_pretrained, no missing or unexpected keys)"}
    with torch.no_grad():
        if kind == "pp_ocrv5_mobile_rec":
            import onnxruntime as ort

            pixels = torch.randn(2, 3, 48, 320)
            theirs = exported(pixel_values=pixels).last_hidden_state.numpy()
            session = ort.InferenceSession(os.path.join(args.reference, "rec.onnx"))
            ours = session.run(None, {"x": pixels.numpy()})[0]
            # rec.onnx holds the classes in PaddleOCR's order (the space last); the hf folder in
            # ocrtune's (dictionary.txt): line them up by label.
            with open(os.path.join(args.export, "dictionary.txt"), encoding="utf-8") as f:
                labels = f.read().split("\n")[:-1]
            characters = session.get_modelmeta().custom_metadata_map["character"].split("\n")
            exported_labels = characters + ([" "] if " " in labels else [])
            order = [0] + [labels.index(c) + 1 for c in exported_labels]
            theirs = theirs[..., order]
            result["compared_with"] = "ocrtune's rec.onnx in onnxruntime (probabilities, classes lined up by label)"
            diff = float(np.abs(theirs - ours).max())
            result["argmax_agreement"] = float((theirs.argmax(-1) == ours.argmax(-1)).mean())
        else:
            reference = load_hf(args.reference)
            result["compared_with"] = f"transformers' load of {os.path.basename(os.path.normpath(args.reference))} (logits)"
            if kind == "vision-encoder-decoder":
                size = exported.config.encoder.image_size
                size = size if isinstance(size, (list, tuple)) else (size, size)
                pixels = torch.randn(2, 3, *size)
                ids = torch.randint(3, exported.config.decoder.vocab_size, (2, 6))
                a = exported(pixel_values=pixels, decoder_input_ids=ids).logits
                b = reference(pixel_values=pixels, decoder_input_ids=ids).logits
            else:
                ids = torch.randint(0, 300, (1, 12))
                a = exported(input_ids=ids).logits
                b = reference(input_ids=ids).logits
                sa, sb = exported.state_dict(), reference.state_dict()
                result["tensors_equal"] = all(torch.equal(sa[k], sb[k]) for k in sb)
            diff = float((a - b).abs().max())
    result["largest_difference"] = diff
    record(args.record, result)
    return 0 if diff <= args.tolerance else 1


# MARK: - peft

def check_peft(args):
    import torch
    from peft import PeftModel
    from safetensors.numpy import load_file

    base = load_hf(args.base)
    model = PeftModel.from_pretrained(base, args.export).eval()
    stored = load_file(os.path.join(args.export, "adapter_model.safetensors"))
    state = {k.replace(".default.", "."): v for k, v in model.state_dict().items()}
    loaded = sum(1 for k, v in stored.items() if k in state and np.array_equal(state[k].numpy(), v))
    result = {"adapter_tensors": len(stored), "loaded_equal": loaded}
    with open(os.path.join(args.export, "adapter_config.json")) as f:
        config = json.load(f)
    result["target_modules"] = config["target_modules"]
    result["modules_to_save"] = config["modules_to_save"]
    merged = load_hf(args.merged)
    torch.manual_seed(0)
    with torch.no_grad():
        kind = model_type(args.merged)
        if kind == "vision-encoder-decoder":
            size = merged.config.encoder.image_size
            size = size if isinstance(size, (list, tuple)) else (size, size)
            inputs = {"pixel_values": torch.randn(2, 3, *size), "decoder_input_ids": torch.randint(3, merged.config.decoder.vocab_size, (2, 6))}
        elif kind == "pp_ocrv5_mobile_rec":
            inputs = {"pixel_values": torch.randn(2, 3, 48, 320)}
        else:
            inputs = {"input_ids": torch.randint(0, 300, (1, 12))}
        out_a, out_b = model(**inputs), merged(**inputs)
        a = out_a.logits if hasattr(out_a, "logits") and out_a.logits is not None else out_a.last_hidden_state
        b = out_b.logits if hasattr(out_b, "logits") and out_b.logits is not None else out_b.last_hidden_state
        with model.disable_adapter():
            out_c = model(**inputs)
        c = out_c.logits if hasattr(out_c, "logits") and out_c.logits is not None else out_c.last_hidden_state
    result["base_plus_adapter_vs_merged_hf"] = float((a - b).abs().max())
    result["adapter_changes_outputs_by"] = float((a - c).abs().max())
    record(args.record, result)
    ok = loaded == len(stored) and result["base_plus_adapter_vs_merged_hf"] <= args.tolerance and result["adapter_changes_outputs_by"] > 0
    return 0 if ok else 1


# MARK: - GGUF

def gguf_reference(name, weights):
    """The transformers 5.x tensor a GGUF tensor holds (Qwen-VL language model and mmproj)."""
    import re

    lm, vis = "model.language_model", "model.visual"
    fixed = {"token_embd.weight": f"{lm}.embed_tokens.weight", "output_norm.weight": f"{lm}.norm.weight", "output.weight": "lm_head.weight",
             "v.position_embd.weight": f"{vis}.pos_embed.weight", "v.patch_embd.bias": f"{vis}.patch_embed.proj.bias"}
    if name in fixed:
        return weights[fixed[name]]
    if name.startswith("v.patch_embd.weight"):
        return weights[f"{vis}.patch_embed.proj.weight"][:, :, 1 if name.endswith(".1") else 0]
    m = re.match(r"blk\.(\d+)\.(\w+)\.(weight|bias)$", name)
    if m:
        i, part, kind = m.groups()
        ours = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
                "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}[part]
        return weights[f"{lm}.layers.{i}.{ours}.{kind}"]
    m = re.match(r"v\.blk\.(\d+)\.(\w+)\.(weight|bias)$", name)
    if m:
        i, part, kind = m.groups()
        p = f"{vis}.blocks.{i}"
        if part in ("attn_q", "attn_k", "attn_v"):
            return np.split(weights[f"{p}.attn.qkv.{kind}"], 3, axis=0)[["attn_q", "attn_k", "attn_v"].index(part)]
        qwen3 = f"{p}.mlp.linear_fc1.weight" in weights
        ours = {"ln1": "norm1", "ln2": "norm2", "attn_qkv": "attn.qkv", "attn_out": "attn.proj", "ffn_gate": "mlp.gate_proj",
                "ffn_up": "mlp.linear_fc1" if qwen3 else "mlp.up_proj", "ffn_down": "mlp.linear_fc2" if qwen3 else "mlp.down_proj"}[part]
        return weights[f"{p}.{ours}.{kind}"]
    m = re.match(r"v\.deepstack\.(\d+)\.(\w+)\.(weight|bias)$", name)
    if m:
        layer, part, kind = m.groups()
        # deepstack_merger_list.k holds the k-th deepstack layer; the GGUF names the layer.
        keys = sorted({k.split(".")[3] for k in weights if ".deepstack_merger_list." in k}, key=int)
        return weights[f"{vis}.deepstack_merger_list.{keys[DEEPSTACK.index(int(layer))]}.{ {'norm': 'norm', 'fc1': 'linear_fc1', 'fc2': 'linear_fc2'}[part]}.{kind}"]
    m = re.match(r"(mm\.\d+|v\.post_ln)\.(weight|bias)$", name)
    if m:
        part, kind = m.groups()
        qwen3 = f"{vis}.merger.norm.weight" in weights
        ours = {"v.post_ln": "norm" if qwen3 else "ln_q", "mm.0": "linear_fc1" if qwen3 else "mlp.0", "mm.2": "linear_fc2" if qwen3 else "mlp.2"}[part]
        return weights[f"{vis}.merger.{ours}.{kind}"]
    raise KeyError(name)


DEEPSTACK = []


# DeepSeek-OCR / -OCR 2: GGUF name → the original checkpoint's key (the fixtures' layout), per
# pattern; `{i}` a block number. Written from llama.cpp's converter output, independently of the
# Swift writer's table.
DEEPSEEK_LM = {
    "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight",
    "blk.{i}.attn_norm.weight": "model.layers.{i}.input_layernorm.weight",
    "blk.{i}.ffn_norm.weight": "model.layers.{i}.post_attention_layernorm.weight",
    "blk.{i}.attn_q.weight": "model.layers.{i}.self_attn.q_proj.weight", "blk.{i}.attn_k.weight": "model.layers.{i}.self_attn.k_proj.weight",
    "blk.{i}.attn_v.weight": "model.layers.{i}.self_attn.v_proj.weight", "blk.{i}.attn_output.weight": "model.layers.{i}.self_attn.o_proj.weight",
    "blk.{i}.ffn_gate.weight": "model.layers.{i}.mlp.gate_proj.weight", "blk.{i}.ffn_up.weight": "model.layers.{i}.mlp.up_proj.weight",
    "blk.{i}.ffn_down.weight": "model.layers.{i}.mlp.down_proj.weight", "blk.{i}.ffn_gate_inp.weight": "model.layers.{i}.mlp.gate.weight",
    "blk.{i}.ffn_gate_shexp.weight": "model.layers.{i}.mlp.shared_experts.gate_proj.weight",
    "blk.{i}.ffn_up_shexp.weight": "model.layers.{i}.mlp.shared_experts.up_proj.weight",
    "blk.{i}.ffn_down_shexp.weight": "model.layers.{i}.mlp.shared_experts.down_proj.weight",
}
DEEPSEEK_MMPROJ = {
    "v.sam.pos_embd.weight": "model.sam_model.pos_embed", "v.sam.patch_embd.{k}": "model.sam_model.patch_embed.proj.{k}",
    "v.sam.blk.{i}.pre_ln.{k}": "model.sam_model.blocks.{i}.norm1.{k}", "v.sam.blk.{i}.post_ln.{k}": "model.sam_model.blocks.{i}.norm2.{k}",
    "v.sam.blk.{i}.attn.qkv.{k}": "model.sam_model.blocks.{i}.attn.qkv.{k}", "v.sam.blk.{i}.attn.out.{k}": "model.sam_model.blocks.{i}.attn.proj.{k}",
    "v.sam.blk.{i}.attn.pos_h.weight": "model.sam_model.blocks.{i}.attn.rel_pos_h",
    "v.sam.blk.{i}.attn.pos_w.weight": "model.sam_model.blocks.{i}.attn.rel_pos_w",
    "v.sam.blk.{i}.mlp.lin1.{k}": "model.sam_model.blocks.{i}.mlp.lin1.{k}", "v.sam.blk.{i}.mlp.lin2.{k}": "model.sam_model.blocks.{i}.mlp.lin2.{k}",
    "v.sam.neck.{i}.{k}": "model.sam_model.neck.{i}.{k}", "v.sam.net_2.weight": "model.sam_model.net_2.weight",
    "v.sam.net_3.weight": "model.sam_model.net_3.weight", "mm.model.fc.{k}": "model.projector.layers.{k}",
    "v.image_newline": "model.image_newline", "v.view_seperator": "model.view_seperator",
    # v1 CLIP-L
    "v.class_embd": "model.vision_model.embeddings.class_embedding",
    "v.patch_embd.weight": "model.vision_model.embeddings.patch_embedding.weight",
    "v.position_embd.weight": "model.vision_model.embeddings.position_embedding.weight",
    "v.pre_ln.{k}": "model.vision_model.pre_layrnorm.{k}",
    "v.blk.{i}.ln1.{k}": ["model.vision_model.transformer.layers.{i}.layer_norm1.{k}", "model.qwen2_model.model.model.layers.{i}.input_layernorm.{k}"],
    "v.blk.{i}.ln2.{k}": ["model.vision_model.transformer.layers.{i}.layer_norm2.{k}",
                          "model.qwen2_model.model.model.layers.{i}.post_attention_layernorm.{k}"],
    "v.blk.{i}.attn_qkv.{k}": "model.vision_model.transformer.layers.{i}.self_attn.qkv_proj.{k}",
    "v.blk.{i}.attn_out.{k}": ["model.vision_model.transformer.layers.{i}.self_attn.out_proj.{k}",
                               "model.qwen2_model.model.model.layers.{i}.self_attn.o_proj.{k}"],
    "v.blk.{i}.ffn_up.{k}": ["model.vision_model.transformer.layers.{i}.mlp.fc1.{k}", "model.qwen2_model.model.model.layers.{i}.mlp.up_proj.{k}"],
    "v.blk.{i}.ffn_down.{k}": ["model.vision_model.transformer.layers.{i}.mlp.fc2.{k}",
                               "model.qwen2_model.model.model.layers.{i}.mlp.down_proj.{k}"],
    # v2 Qwen2 query encoder
    "v.blk.{i}.attn_q.{k}": "model.qwen2_model.model.model.layers.{i}.self_attn.q_proj.{k}",
    "v.blk.{i}.attn_k.{k}": "model.qwen2_model.model.model.layers.{i}.self_attn.k_proj.{k}",
    "v.blk.{i}.attn_v.{k}": "model.qwen2_model.model.model.layers.{i}.self_attn.v_proj.{k}",
    "v.blk.{i}.ffn_gate.{k}": "model.qwen2_model.model.model.layers.{i}.mlp.gate_proj.{k}",
    "v.post_ln.weight": "model.qwen2_model.model.model.norm.weight",
    "v.resample_query_768.weight": "model.qwen2_model.query_768.weight", "v.resample_query_1024.weight": "model.qwen2_model.query_1024.weight",
}


def deepseek_original_key(name):
    """The original key (or, for stacked experts, the per-expert key template) of a GGUF name."""
    import re

    m = re.match(r"blk\.(\d+)\.ffn_(gate|up|down)_exps\.weight$", name)
    if m:
        return f"model.layers.{m.group(1)}.mlp.experts.{{e}}.{m.group(2)}_proj.weight"
    block = re.search(r"\.(\d+)\.", name)
    suffix = name.rsplit(".", 1)[-1]
    template = re.sub(r"\.\d+\.", ".{i}.", name, count=1)
    for table in (DEEPSEEK_LM, DEEPSEEK_MMPROJ):
        for candidate in (template, template[: -len(suffix)] + "{k}"):
            if candidate in table:
                keys = table[candidate]
                return [k.replace("{i}", block.group(1) if block else "").replace("{k}", suffix) for k in (keys if isinstance(keys, list) else [keys])]
    raise KeyError(name)


def deepseek_gguf_reference(name, weights):
    """The original-layout tensor a DeepSeek-OCR GGUF tensor holds: experts stacked [E, out, in],
    the view separator as [1, hidden]."""
    key = deepseek_original_key(name)
    if isinstance(key, str):
        count = sum(1 for k in weights if k.startswith(key.split("{e}")[0]) and k.endswith(key.split("{e}")[1]))
        return np.stack([weights[key.format(e=e)] for e in range(count)])
    value = next(weights[k] for k in key if k in weights)
    return value.reshape(1, -1) if name == "v.view_seperator" else value


def deepseek_names_agree_with_gguf_py(names, weights):
    """gguf-py's own tables (when they know the architecture) map our reference keys to the same names."""
    import gguf

    if not hasattr(gguf.MODEL_ARCH, "DEEPSEEK2OCR"):
        return None
    lm = gguf.get_tensor_name_map(gguf.MODEL_ARCH.DEEPSEEK2OCR, 64)
    mm = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, 64)  # ≥ 4 blocks: SAM's neck.0–3
    checked, differ = 0, []
    for name in names:
        key = deepseek_original_key(name)
        if isinstance(key, str):
            key = key.replace("experts.{e}.", "experts.")  # the converter's merged name
        else:
            key = next(k for k in key if k in weights)
        table = mm if name.startswith(("v.", "mm.")) else lm
        if key.endswith((".weight", ".bias")):
            theirs = table.get_name(key, try_suffixes=(".weight", ".bias"))
        else:  # pos_embed, rel_pos_*, class_embedding, image_newline, view_seperator
            theirs = table.get_name(key) or table.get_name(key + ".weight", try_suffixes=(".weight",))
        if theirs is None:
            continue  # a name gguf-py's tables do not hold (added by the converter's own code)
        checked += 1
        if theirs != name and theirs + ".weight" != name:
            differ.append((name, theirs))
    return {"checked": checked, "differ": differ}


def check_gguf(args):
    from gguf import GGUFReader, GGMLQuantizationType
    from gguf.quants import dequantize, quantize
    from safetensors.numpy import load_file

    weights = load_file(os.path.join(args.reference, "model.safetensors"))
    with open(os.path.join(args.reference, "config.json")) as f:
        config = json.load(f)
    DEEPSTACK.extend(config["vision_config"].get("deepstack_visual_indexes", []))
    deepseek = config["model_type"] in ("deepseek_vl_v2", "deepseek_ocr2")
    reference = deepseek_gguf_reference if deepseek else gguf_reference
    result = {}
    worst = 0.0
    for file in sorted(os.listdir(args.export)):
        if not file.endswith(".gguf"):
            continue
        reader = GGUFReader(os.path.join(args.export, file))
        stats = {"tensors": len(reader.tensors), "types": {}, "equal": 0, "q8_0_within_step": 0, "q8_0_bytes_as_gguf_py": 0}
        for t in reader.tensors:
            ref = reference(t.name, weights).astype(np.float32)
            if list(reversed([int(d) for d in t.shape])) != list(ref.shape):
                stats.setdefault("shape_mismatch", []).append(t.name)
                worst = max(worst, 1.0)
                continue
            kind = t.tensor_type
            stats["types"][kind.name] = stats["types"].get(kind.name, 0) + 1
            values = dequantize(t.data, kind).reshape(ref.shape)
            if kind == GGMLQuantizationType.Q8_0:
                blocks = ref.reshape(-1, 32)
                step = np.abs(blocks).max(1, keepdims=True) / 127
                # half a step, plus the float16 rounding of the scale times the largest |q| (127).
                ok = np.all(np.abs(values.reshape(-1, 32) - blocks) <= step / 2 + 127 * step * 2.0**-11 + 1e-12)
                stats["q8_0_within_step"] += int(ok)
                stats["q8_0_bytes_as_gguf_py"] += int(np.array_equal(quantize(ref, kind).tobytes(), np.asarray(t.data).tobytes()))
                worst = max(worst, 0.0 if ok else 1.0)
            else:
                expected = {GGMLQuantizationType.F32: ref, GGMLQuantizationType.F16: ref.astype(np.float16).astype(np.float32),
                            GGMLQuantizationType.BF16: dequantize(quantize(ref, GGMLQuantizationType.BF16), GGMLQuantizationType.BF16).reshape(ref.shape)}[kind]
                same = np.array_equal(values, expected)
                stats["equal"] += int(same)
                worst = max(worst, 0.0 if same else float(np.abs(values - expected).max()))
        if deepseek:
            stats["names_as_gguf_py_maps_them"] = deepseek_names_agree_with_gguf_py([t.name for t in reader.tensors], weights)
            if stats["names_as_gguf_py_maps_them"] and stats["names_as_gguf_py_maps_them"]["differ"]:
                worst = max(worst, 1.0)
        result[file] = stats
    record(args.record, result)
    return 0 if worst == 0 else 1


# MARK: - llama.cpp

def check_llama(args):
    import gguf
    from llama_cpp import Llama

    result = {}
    files = sorted(f for f in os.listdir(args.export) if f.endswith(".gguf") and not f.startswith("mmproj-"))
    mmproj = next(os.path.join(args.export, f) for f in os.listdir(args.export) if f.startswith("mmproj-"))
    expected = np.load(args.reference_logits)
    for file in files:
        entry = {}
        try:
            llm = Llama(model_path=os.path.join(args.export, file), n_ctx=256, logits_all=True, verbose=False, n_threads=2)
            llm.eval(PROBE_IDS[0].tolist())
            scores = np.array(llm.scores[: PROBE_IDS.shape[1]], dtype=np.float32)
            entry["text_logits_largest_difference"] = float(np.abs(scores - expected[0]).max())
            entry["text_argmax_agreement"] = float((scores.argmax(-1) == expected[0].argmax(-1)).mean())
            if os.path.exists(greedy_file(args.reference_logits)):
                llm.reset()
                reference = np.load(greedy_file(args.reference_logits)).tolist()
                ours = []
                for token in llm.generate(PROBE_IDS[0].tolist(), temp=0.0, top_k=1, repeat_penalty=1.0):
                    ours.append(int(token))
                    if len(ours) == len(reference) or llm.token_eos() == token:
                        break
                entry.update({"greedy_llama_cpp": ours, "greedy_transformers": reference, "greedy_same": ours == reference})
        except Exception as error:  # a model llama.cpp refuses: say so
            entry["error"] = f"{type(error).__name__}: {error}"
        result[file] = entry
    f16 = next((f for f in files if f.endswith("-F16.gguf")), files[0])
    model_file = os.path.join(args.export, f16)
    relayout = os.path.join(args.export, "llama-cpp-layout", os.path.basename(mmproj))
    changed = llama_cpp_mmproj(mmproj, relayout)
    qwen3 = gguf.GGUFReader(mmproj).fields["clip.projector_type"].contents() == "qwen3vl_merger"
    if changed and args.image:  # what the exporter's own mmproj does in llama.cpp, in a process of its own (it aborts)
        result["mmproj_relayout"] = {
            "changed": changed, "as_exported_on_image": llama_cpp_abort(model_file, mmproj, args.image, True),
            "relayout_batched_prompt_on_image": llama_cpp_abort(model_file, relayout, args.image, False),
            "what": ("the exporter's mmproj rewritten in the layout llama.cpp's converter writes for qwen3vl_merger "
                     "(v.position_embd.weight F32, fused v.blk.N.attn_qkv) for the image stages below")}
        mmproj = relayout
    if args.image and not qwen3:
        try:
            text = qwen_chat_text(os.path.join(args.export, f16), mmproj, args.image, args.prompt, args.max_new_tokens)
            result["image"] = {"model": f16, "mmproj": os.path.basename(mmproj), "llama_cpp_text": text,
                               "what": "llama-cpp-python's Qwen25VLChatHandler as shipped, on the image as given"}
            if args.ocrtune_text is not None:
                result["image"].update({"ocrtune_text": args.ocrtune_text, "same_text": text == args.ocrtune_text})
        except Exception as error:
            result["image"] = {"error": f"{type(error).__name__}: {error}"}
    if args.image_reference:
        stages = llama_qwen_stages(args, model_file, mmproj)
        stages["model"] = f16
        if not qwen3:
            stock = qwen_chat_prompt()
            stages["4_chat_handler_prompt"] = {"as_shipped_ends": stock[-22:], "ends_with_assistant_newline": stock.endswith("assistant\n"),
                                               "with_fix_ends_with_assistant_newline": qwen_chat_prompt(QWEN_CHAT_HANDLER_FIX).endswith("assistant\n")}
        if args.ocrtune_matched_json and qwen3:  # no Qwen3-VL chat handler: the ids through libmtmd
            ours = json.loads(args.ocrtune_matched_json)
            greedy = stages["3_language_model_stretched_image"]["greedy_llama_cpp"]
            stages["end_to_end_matched"] = {
                "what": "ocrtune predict on the stretched image; llama.cpp on the same image through libmtmd (ids)",
                "ocrtune_ids": ours["token_ids"], "llama_cpp_ids": greedy, "same_ids": ours["token_ids"] == greedy, "ocrtune_text": ours["text"]}
        elif args.ocrtune_matched_json:
            ours = json.loads(args.ocrtune_matched_json)
            greedy = stages["3_language_model_stretched_image"]["greedy_llama_cpp"]
            stretched = os.path.splitext(args.image_reference)[0] + ".png"
            chat = qwen_chat_text(os.path.join(args.export, f16), mmproj, stretched, args.prompt, args.max_new_tokens,
                                  QWEN_CHAT_HANDLER_FIX, stages["llama_cpp_image_tokens_bounds"])
            # The chat API drops the bytes of an incomplete UTF-8 character; so does this comparison.
            stages["end_to_end_matched"] = {
                "what": ("ocrtune predict with the model's window_size set to llama.cpp's, on the stretched image; llama.cpp on "
                         "the same image through libmtmd (ids) and through the chat API with the template's final newline kept and the model's image-token bounds (text)"),
                "ocrtune_ids": ours["token_ids"], "llama_cpp_ids": greedy, "same_ids": ours["token_ids"] == greedy,
                "ocrtune_text": ours["text"], "llama_cpp_chat_text": chat,
                "same_text_outside_incomplete_utf8": chat == ours["text"].replace("\ufffd", "")}
        result["image_stages"] = stages
    record(args.record, result)
    matched = result.get("image_stages", {})
    agree = matched.get("3_language_model_stretched_image", {}).get("greedy_same_window_matched", True) \
        and matched.get("end_to_end_matched", {}).get("same_ids", True)
    return 0 if agree else 1


def llama_cpp_abort(model_file, mmproj, image, token_by_token):
    """Whether llama.cpp reads IMAGE with MMPROJ through libmtmd in a process of its own; the
    GGML_ASSERT it aborts with, if it does."""
    import subprocess

    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import check_export as c; from PIL import Image; "
            "from llama_cpp import Llama; from llama_cpp import mtmd_cpp as mt; "
            "llm = Llama(model_path=sys.argv[2], n_ctx=4096, n_batch=4096, verbose=False, n_threads=2); "
            "p = mt.mtmd_context_params_default(); p.use_gpu, p.warmup, p.print_timings = False, False, False; "
            "m = mt.mtmd_init_from_file(sys.argv[3].encode(), llm.model, p); "
            "c.mtmd_run(llm, m, np.asarray(Image.open(sys.argv[4]).convert('RGB')), c.qwen_chat('qwen3_vl', mt.mtmd_default_marker().decode(), 'Free OCR.'), 1, sys.argv[5] == '1')")
    run = subprocess.run([sys.executable, "-c", code, os.path.dirname(os.path.abspath(__file__)), model_file, mmproj, image, "1" if token_by_token else "0"],
                         capture_output=True, text=True)
    asserts = [line.split(": ", 1)[-1] for line in run.stderr.splitlines() if "GGML_ASSERT" in line]
    return {"returncode": run.returncode, "abort": asserts[0] if asserts else None}


def check_llama_image(args):
    """DeepSeek-OCR: llama.cpp reads an image through the mmproj (llama-cpp-python's MTMD handler,
    the content parts joined as llama.cpp's own "deepseek-ocr" template joins them) and generates
    greedily; the text against `ocrtune predict --output-ids`'s."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import MTMDChatHandler

    class Plain(MTMDChatHandler):
        def _get_chat_template(self, llama_model):
            return "{% for m in messages %}{% for p in m['content'] %}{{ p['text'] }}{% endfor %}{% endfor %}"

    ours = json.loads(args.ocrtune_json)
    model = next(f for f in sorted(os.listdir(args.export)) if f.endswith("-F16.gguf") and not f.startswith("mmproj-"))
    mmproj = next(f for f in os.listdir(args.export) if f.startswith("mmproj-"))
    llm = Llama(model_path=os.path.join(args.export, model), chat_handler=Plain(clip_model_path=os.path.join(args.export, mmproj), verbose=False, use_gpu=False),
                n_ctx=4096, verbose=False, n_threads=2)
    image = "file://" + os.path.abspath(args.image)
    out = llm.create_chat_completion(
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}}, {"type": "text", "text": "\n" + args.prompt}]}],
        max_tokens=len(ours["token_ids"]), temperature=0.0, top_k=1)
    text = out["choices"][0]["message"]["content"]
    # llama-cpp-python's chat API drops the bytes of an incomplete UTF-8 character; so does this comparison.
    same = text == ours["text"].replace("\ufffd", "")
    record(args.record, {"model": model, "mmproj": mmproj, "image": os.path.basename(args.image), "prompt": "<image>\n" + args.prompt,
                         "llama_cpp_text": text, "ocrtune_text": ours["text"], "ocrtune_token_ids": ours["token_ids"],
                         "same_text_outside_incomplete_utf8": same})
    return 0 if same else 1


# MARK: - Qwen-VL through llama.cpp's mmproj, stage by stage

# clip.cpp (llama-cpp-python 0.3.36) builds Qwen2.5-VL's window attention with a 112-pixel window
# (the released checkpoints' window_size): it does not read clip.vision.window_size for
# qwen2.5vl_merger. Its image preprocessing keeps the aspect ratio and pads with black to the
# 28-aligned size (PAD_CEIL), where transformers stretches to that size. So the stages are
# compared with matched inputs: the image stretched as transformers does, and transformers' vision
# tower run with this window as well as with the model's own.
LLAMA_QWEN25_WINDOW = 112
# The chat prompt transformers' templates render for one image and a prompt (Qwen2.5-VL's adds a
# default system turn, Qwen3-VL's none); mtmd wraps the image in vision_start/end.
QWEN_SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
QWEN_CHAT = "{system}<|im_start|>user\n{image}{prompt}<|im_end|>\n<|im_start|>assistant\n"


def qwen_chat(kind, image, prompt):
    return QWEN_CHAT.format(system=QWEN_SYSTEM if kind == "qwen2_5_vl" else "", image=image, prompt=prompt)


def qwen_patches(image, mean, std, patch, merge=2, temporal=2):
    """An RGB uint8 image [H, W, 3] as Qwen2-VL's processor lays out pixel_values: normalized,
    the frame repeated `temporal` times, rows in 2x2-merge order, each row (C, T, p, p)."""
    x = (image.astype(np.float32) / np.float32(255) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    x = np.repeat(x.transpose(2, 0, 1)[None], temporal, axis=0)  # [T, C, H, W]
    gh, gw = image.shape[0] // patch, image.shape[1] // patch
    x = x.reshape(temporal, 3, gh // merge, merge, patch, gw // merge, merge, patch)
    return x.transpose(2, 5, 3, 6, 1, 0, 4, 7).reshape(gh * gw, -1)


def save_qwen_image_reference(args):
    """transformers on one image with the chat prompt: the processor's pixel_values and its stretched
    image (ARGS.out + .png), and per variant the vision tower's embeddings (Qwen3-VL: the merger's
    output then each deepstack merger's, concatenated per token as llama.cpp's mmproj writes them),
    the prompt's last logits and the greedy tokens. Variants: Qwen2.5-VL's vision window, the model's
    and llama.cpp's 112; Qwen3-VL has one ("model")."""
    import torch
    from PIL import Image
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize

    processor = Qwen2VLImageProcessorPil.from_pretrained(args.model)
    image = Image.open(args.image).convert("RGB")
    inputs = processor([image], return_tensors="pt")
    pixels, grid = inputs["pixel_values"], inputs["image_grid_thw"]
    factor = processor.patch_size * processor.merge_size
    h, w = smart_resize(image.height, image.width, factor, processor.size["shortest_edge"], processor.size["longest_edge"])
    stretched = image.resize((w, h), Image.BICUBIC)
    stretched.save(os.path.splitext(args.out)[0] + ".png")
    again = processor([stretched], return_tensors="pt")["pixel_values"]
    assert torch.equal(again, pixels), "the stretched image is not what the processor reads"
    model = load_hf(args.model)
    kind = model_type(args.model)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(args.model)
    tokens = int(grid.prod()) // processor.merge_size ** 2
    text = qwen_chat(kind, "<|vision_start|>" + "<|image_pad|>" * tokens + "<|vision_end|>", args.prompt)
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
    config = model.config
    inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels, image_grid_thw=grid,
                  mm_token_type_ids=(ids == config.image_token_id).int())
    windows = [config.vision_config.window_size, LLAMA_QWEN25_WINDOW] if kind == "qwen2_5_vl" else [None]
    variants = [f"window_{w}" if w else "model" for w in windows]
    saved = {"pixel_values": pixels.numpy(), "image_grid_thw": grid.numpy(), "input_ids": ids.numpy(), "variants": np.array(variants)}
    for window, variant in zip(windows, variants):
        if window:
            model.model.visual.window_size = window
        with torch.no_grad():
            features = model.model.get_image_features(pixels, grid)
            stacks = [features.pooler_output] + list(getattr(features, "deepstack_features", None) or [])
            saved[f"embeddings_{variant}"] = torch.cat([torch.cat(tuple(f), 0) for f in stacks], -1).numpy()
            saved[f"last_logits_{variant}"] = model(**inputs).logits[0, -1].numpy()
            out = model.generate(**inputs, max_new_tokens=args.max_new_tokens, do_sample=False,
                                 eos_token_id=[config.text_config.eos_token_id], pad_token_id=config.text_config.pad_token_id)
        saved[f"greedy_{variant}"] = out[0, ids.shape[1]:].numpy()
    np.savez(args.out, **saved)
    return 0


def mtmd_run(llm, mtmd, image, text, max_new, token_by_token=False):
    """llama.cpp's own path through libmtmd (no chat API): the prompt's token ids (image tokens as
    `image_id`), the mmproj's embeddings (with Qwen3-VL's deepstack features), the last logits and the
    greedy ids. `token_by_token`: text chunks decoded one token per batch (see QWEN3_DEEPSTACK_NOTE)."""
    import ctypes
    import llama_cpp
    from llama_cpp import mtmd_cpp as mt

    image = np.array(image, dtype=np.uint8, order="C")  # a writable copy ctypes can point at
    bitmap = mt.mtmd_bitmap_init(image.shape[1], image.shape[0], (ctypes.c_uint8 * image.size).from_buffer(image))
    raw = text.encode()
    part = mt.mtmd_input_text()
    part.text, part.text_len, part.add_special, part.parse_special = raw, len(raw), True, True
    chunks = mt.mtmd_input_chunks_init()
    single = llama_cpp.llama_batch_init(1, 0, 1)
    try:
        if mt.mtmd_tokenize(mtmd, chunks, ctypes.byref(part), (mt.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) != 0:
            raise RuntimeError("mtmd_tokenize failed")
        llm.reset()
        llm._ctx.kv_cache_clear()
        ctx, vocab, width = llm._ctx.ctx, llm.n_vocab(), llama_cpp.llama_model_n_embd_inp(llm.model)
        ids, embeddings, grid, n_past = [], None, None, 0
        count = mt.mtmd_input_chunks_size(chunks)
        for i in range(count):
            chunk = mt.mtmd_input_chunks_get(chunks, i)
            if mt.mtmd_input_chunk_get_type(chunk) == mt.MTMD_INPUT_CHUNK_TYPE_TEXT:
                n = ctypes.c_size_t()
                tokens = mt.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                text_ids = [tokens[j] for j in range(n.value)]
                ids += text_ids
                if token_by_token:
                    for j, token in enumerate(text_ids):
                        single.n_tokens, single.token[0], single.pos[0], single.n_seq_id[0] = 1, token, n_past, 1
                        single.seq_id[0][0], single.logits[0] = 0, j == len(text_ids) - 1
                        if llama_cpp.llama_decode(ctx, single) != 0:
                            raise RuntimeError("llama_decode failed")
                        n_past += 1
                    continue
            else:
                n = mt.mtmd_input_chunk_get_n_tokens(chunk)
                info = mt.mtmd_input_chunk_get_tokens_image(chunk)
                grid = (mt.mtmd_image_tokens_get_ny(info), mt.mtmd_image_tokens_get_nx(info), mt.mtmd_image_tokens_get_n_pos(info))
                if mt.mtmd_encode_chunk(mtmd, chunk) != 0:
                    raise RuntimeError("mtmd_encode_chunk failed")
                embeddings = np.ctypeslib.as_array(mt.mtmd_get_output_embd(mtmd), shape=(n * width,)).reshape(n, -1).copy()
                ids += [None] * n
            after = llama_cpp.llama_pos(0)
            if mt.mtmd_helper_eval_chunk_single(mtmd, ctx, chunk, n_past, 0, llm.n_batch, i == count - 1, ctypes.byref(after)) != 0:
                raise RuntimeError("mtmd_helper_eval_chunk_single failed")
            n_past = after.value
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(vocab,)).copy()
        greedy, scores = [], logits
        for _ in range(max_new):
            greedy.append(int(scores.argmax()))
            if greedy[-1] == llm.token_eos():
                break
            if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one((llama_cpp.llama_token * 1)(greedy[-1]), 1)) != 0:
                raise RuntimeError("llama_decode failed")
            scores = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(vocab,))
        return {"ids": ids, "embeddings": embeddings, "grid_hw_npos": grid, "last_logits": logits, "greedy": greedy}
    finally:
        llama_cpp.llama_batch_free(single)
        mt.mtmd_input_chunks_free(chunks)
        mt.mtmd_bitmap_free(bitmap)


def letterboxed(image, width, height):
    """An image as llama.cpp's Qwen-VL preprocessing sizes it (emulated with Pillow's bicubic,
    which its resize follows): aspect kept, ceil-rounded, centred on black."""
    from PIL import Image

    scale = min(width / image.width, height / image.height)
    w, h = min(math.ceil(image.width * scale), width), min(math.ceil(image.height * scale), height)
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(image.resize((w, h), Image.BICUBIC), ((width - w) // 2, (height - h) // 2))
    return canvas


# llama-cpp-python's Qwen25VLChatHandler renders its template with Jinja's default
# keep_trailing_newline=False, which drops the newline after "<|im_start|>assistant" that
# transformers' template (and ocrtune) put there: its prompt is one token short. Kept with a second one.
QWEN_CHAT_HANDLER_FIX = "\n"


def qwen_chat_prompt(suffix=""):
    """The text llama-cpp-python's Qwen25VLChatHandler renders for one image and a prompt
    (`suffix` appended to its template)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from llama_cpp.llama_chat_format import Qwen25VLChatHandler

    messages = [{"role": "system", "content": Qwen25VLChatHandler.DEFAULT_SYSTEM_MESSAGE},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "IMAGE"}}, {"type": "text", "text": "P"}]}]
    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(Qwen25VLChatHandler.CHAT_FORMAT + suffix)
    return template.render(messages=messages, add_generation_prompt=True)


def qwen_chat_text(model_file, mmproj, image, prompt, max_new, suffix="", token_bounds=None):
    """Greedy text of llama-cpp-python's chat API with Qwen25VLChatHandler (`suffix` appended to its
    template; `token_bounds` (min, max) for the image tokens, as llama.cpp's --image-min/max-tokens)."""
    from llama_cpp import Llama
    from llama_cpp import mtmd_cpp
    from llama_cpp.llama_chat_format import Qwen25VLChatHandler

    class Bounded:  # the handler's mtmd bindings, with the image-token bounds in its context parameters
        def __getattr__(self, name):
            return getattr(mtmd_cpp, name)

        def mtmd_context_params_default(self):
            params = mtmd_cpp.mtmd_context_params_default()
            params.image_min_tokens, params.image_max_tokens = token_bounds
            return params

    handler = type("Handler", (Qwen25VLChatHandler,), {"CHAT_FORMAT": Qwen25VLChatHandler.CHAT_FORMAT + suffix})(
        clip_model_path=mmproj, verbose=False)
    if token_bounds:
        handler._mtmd_cpp = Bounded()
    llm = Llama(model_path=model_file, chat_handler=handler, n_ctx=4096, verbose=False, n_threads=2)
    out = llm.create_chat_completion(
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file://" + os.path.abspath(image)}},
                                               {"type": "text", "text": prompt}]}],
        max_tokens=max_new, temperature=0.0, top_k=1)
    return out["choices"][0]["message"]["content"]


# llama.cpp's qwen3vl language-model graph adds deepstack layer k's features after layer k, also after
# the last layer, where it has already kept only the rows whose logits are asked for: a batch of
# several tokens with only the last one's logits (how mtmd and the chat API feed a prompt) aborts
# with GGML_ASSERT(ggml_can_repeat(b, a)) when the model has no more language layers than deepstack
# layers. The tiny Qwen3-VL (2 language layers, deepstack [0, 1]) is such a model: its text chunks are
# decoded one token per batch here (every batch's logits asked for); any model with more language
# layers than deepstack layers (all released Qwen3-VL: 28+ and 3) runs batched.
QWEN3_DEEPSTACK_NOTE = ("llama.cpp's qwen3vl graph aborts (GGML_ASSERT ggml_can_repeat in llama_model_qwen3vl::graph) on a batch of "
                        "several tokens that asks for only the last logits when deepstack reaches the last language layer "
                        "(n_deepstack_layers >= block_count; this model: {deepstack} and {layers}): {how}")


def llama_cpp_mmproj(mmproj, out):
    """The mmproj in the layout llama.cpp's converter writes for qwen3vl_merger, where clip.cpp needs
    it: v.position_embd.weight in F32 (ggml_interpolate, which resizes it, takes F32 only) and each
    vision block's fused v.blk.N.attn_qkv (the qwen3vl graph multiplies by attn_qkv alone). Returns
    the tensors changed, and writes OUT only when there are any."""
    import gguf

    reader = gguf.GGUFReader(mmproj)
    if reader.fields["clip.projector_type"].contents() != "qwen3vl_merger":
        return []
    names = {t.name: t for t in reader.tensors}
    array = lambda t: np.array(t.data).reshape([int(d) for d in reversed(t.shape)])
    changed = [n for n, t in names.items() if n == "v.position_embd.weight" and t.tensor_type != gguf.GGMLQuantizationType.F32]
    changed += [n.replace(".attn_q.", ".attn_qkv.") for n in names if ".attn_q." in n]
    if not changed:
        return []
    os.makedirs(os.path.dirname(out), exist_ok=True)
    writer = gguf.GGUFWriter(out, reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if not key.startswith("GGUF.") and key != "general.architecture":
            kind = field.types[0]
            writer.add_key_value(key, field.contents(), kind, field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    for name, t in names.items():
        if name == "v.position_embd.weight":
            writer.add_tensor(name, array(t).astype(np.float32))
        elif ".attn_q." in name:
            writer.add_tensor(name.replace(".attn_q.", ".attn_qkv."),
                              np.concatenate([array(names[name.replace(".attn_q.", f".{p}.")]) for p in ("attn_q", "attn_k", "attn_v")], 0))
        elif ".attn_k." not in name and ".attn_v." not in name:
            writer.add_tensor(name, array(t))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return changed


def llama_qwen_stages(args, model_file, mmproj):
    """Where llama.cpp and transformers part on an image, stage by stage (see LLAMA_QWEN25_WINDOW
    and QWEN3_DEEPSTACK_NOTE). The reference's last variant is the one matched to llama.cpp."""
    import gguf
    from llama_cpp import Llama
    from llama_cpp import mtmd_cpp as mt
    from PIL import Image

    ref = np.load(args.image_reference)
    variants = ref["variants"].tolist()
    matched_variant = variants[-1]
    meta = gguf.GGUFReader(mmproj)
    field = lambda k: meta.fields[k].contents()
    qwen3 = field("clip.projector_type") == "qwen3vl_merger"
    lm = gguf.GGUFReader(model_file)
    arch = lm.fields["general.architecture"].contents()
    deepstack = lm.fields[f"{arch}.n_deepstack_layers"].contents() if f"{arch}.n_deepstack_layers" in lm.fields else 0
    layers = lm.fields[f"{arch}.block_count"].contents()
    token_by_token = deepstack >= layers
    llm = Llama(model_path=model_file, n_ctx=4096, n_batch=4096, verbose=False, n_threads=2)
    params = mt.mtmd_context_params_default()
    params.use_gpu, params.n_threads, params.print_timings, params.warmup = False, 2, False, False
    # clip.cpp bounds Qwen-VL images to 8..4096 tokens whatever clip.vision.image_min/max_pixels say
    # (llama.cpp's --image-min-tokens / --image-max-tokens set them): the model's bounds, as tokens.
    patch, merge = field("clip.vision.patch_size"), field("clip.vision.spatial_merge_size")
    unit = (patch * merge) ** 2
    if "clip.vision.image_min_pixels" in meta.fields:
        params.image_min_tokens = max(1, field("clip.vision.image_min_pixels") // unit)
        params.image_max_tokens = field("clip.vision.image_max_pixels") // unit
    mtmd = mt.mtmd_init_from_file(mmproj.encode(), llm.model, params)
    try:
        stretched = Image.open(os.path.splitext(args.image_reference)[0] + ".png").convert("RGB")
        text = qwen_chat("qwen3_vl" if qwen3 else "qwen2_5_vl", mt.mtmd_default_marker().decode(), args.prompt)
        run = lambda image, n: mtmd_run(llm, mtmd, np.asarray(image), text, n, token_by_token)
        matched = run(stretched, args.max_new_tokens)
        original = Image.open(args.image).convert("RGB")
        as_given = run(original, args.max_new_tokens)
        rows, cols, _ = as_given["grid_hw_npos"]
        boxed = letterboxed(original, cols * merge * patch, rows * merge * patch)
        emulated = run(boxed, 0)
    finally:
        mt.mtmd_free(mtmd)
    mean, std = field("clip.vision.image_mean"), field("clip.vision.image_std")
    pixels = ref["pixel_values"]
    image_id = int(ref["input_ids"][0][[i for i, t in enumerate(matched["ids"]) if t is None][0]])
    ids = [image_id if t is None else t for t in matched["ids"]]
    difference = lambda a, b: float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).max())
    size = [int(rows * merge * patch), int(cols * merge * patch)]
    same_size = [stretched.height, stretched.width] == size
    embeddings = {f"vs_transformers_{v}": difference(matched["embeddings"], ref[f"embeddings_{v}"]) for v in variants}
    if qwen3:  # the merger's output, then each deepstack merger's, per token
        width, stacked = llm.n_embd(), [i for i, d in enumerate(field("clip.vision.is_deepstack_layers")) if d]
        for k in range(matched["embeddings"].shape[1] // width):
            part = slice(k * width, (k + 1) * width)
            name = f"deepstack_layer_{stacked[k - 1]}" if k else "merger"
            embeddings[f"{name}_vs_transformers"] = difference(matched["embeddings"][:, part], ref[f"embeddings_{matched_variant}"][:, part])
    if qwen3:
        note = ("llama.cpp's clip.cpp letterboxes the image (aspect kept, black padding) where transformers stretches it, and bounds it "
                "to 8..4096 tokens unless told the model's (here given as image_min/max_tokens); llama-cpp-python 0.3.36 has no "
                "Qwen3-VL chat handler (libmtmd is driven directly, with the prompt transformers' template renders). " + QWEN3_DEEPSTACK_NOTE.format(
                    deepstack=deepstack, layers=layers, how="the prompt's text is decoded one token per batch here" if token_by_token
                    else "this one runs batched") + (". With the stretched image given to llama.cpp every stage agrees."
                                                 if matched["greedy"] == ref[f"greedy_{matched_variant}"].tolist() else "."))
    else:
        own, theirs = variants[0].split("_")[1], variants[1].split("_")[1]
        note = (f"llama.cpp's clip.cpp uses a {theirs}-pixel attention window for qwen2.5vl_merger whatever "
                f"clip.vision.window_size says (this model's is {own}), and letterboxes the image (aspect kept, black "
                "padding) where transformers stretches it, bounding it to 8..4096 tokens unless told the model's (here "
                "given as image_min/max_tokens); llama-cpp-python's Qwen25VLChatHandler also drops the newline after "
                "'<|im_start|>assistant' (one token short of transformers' prompt). With these matched (transformers' "
                f"window set to {theirs}, the stretched image given to llama.cpp) every stage agrees.")
    return {
        "note": note, "image": os.path.basename(args.image), "prompt": args.prompt,
        "llama_cpp_image_tokens_bounds": [params.image_min_tokens, params.image_max_tokens],
        "text_decoded_token_by_token": token_by_token,
        "1_preprocessing": {
            "size_llama_cpp": size, "size_transformers": [stretched.height, stretched.width],
            "llama_cpp_as_given_vs_letterbox_emulation_embeddings": difference(as_given["embeddings"], emulated["embeddings"]),
            "letterboxed_vs_stretched_pixels": difference(qwen_patches(np.asarray(boxed), mean, std, patch, merge), pixels) if same_size else None,
            "normalized_with_mmproj_mean_std_vs_pixel_values": difference(qwen_patches(np.asarray(stretched), mean, std, patch, merge), pixels),
        },
        "2_vision_embeddings_stretched_image": dict(
            embeddings, tokens=list(matched["embeddings"].shape), grid_hw_and_positions=[int(g) for g in matched["grid_hw_npos"]]),
        "3_language_model_stretched_image": {
            "prompt_ids_same": ids == ref["input_ids"][0].tolist(),
            **{f"last_logits_vs_transformers_{v}": difference(matched["last_logits"], ref[f"last_logits_{v}"]) for v in variants},
            "greedy_llama_cpp": matched["greedy"],
            **{f"greedy_transformers_{v}": ref[f"greedy_{v}"].tolist() for v in reversed(variants)},
            "greedy_same_window_matched": matched["greedy"] == ref[f"greedy_{matched_variant}"].tolist(),
        },
        "as_given_image_greedy_llama_cpp": as_given["greedy"],
    }


# MARK: - MLX

PROBE_IDS = np.random.RandomState(0).randint(0, 300, (1, 12))
GREEDY_TOKENS = 8


def greedy_file(logits_file):
    """Where `logits` saves transformers' greedy continuation of the probe ids."""
    return os.path.splitext(logits_file)[0] + ".greedy.npy"


def save_logits(args):
    """transformers' logits of a model folder on the probe ids, and its greedy continuation of
    them (for checks run in another Python)."""
    import torch

    ids = torch.from_numpy(PROBE_IDS)
    if model_type(args.model) == "deepseek_vl_v2":  # DeepSeek-OCR v1: no transformers class; the reference
        from safetensors.torch import load_file

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import deepseek_ocr_reference as ref

        with open(os.path.join(args.model, "config.json")) as f:
            config = json.load(f)
        model = ref.build_v1(config).eval()
        model.load_state_dict(ref.to_reference_state(load_file(os.path.join(args.model, "model.safetensors"))))
        with torch.no_grad():
            np.save(args.out, model(ids, [[]]).numpy())
        text = config["language_config"]
        greedy = model.generate_greedy(ids, [[]], torch.ones_like(ids), GREEDY_TOKENS, text["eos_token_id"], -1)[0]
        np.save(greedy_file(args.out), np.array(greedy))
        return 0
    model = load_hf(args.model)
    with torch.no_grad():
        np.save(args.out, model(input_ids=ids).logits.numpy())
        out = model.generate(input_ids=ids, max_new_tokens=GREEDY_TOKENS, do_sample=False)
    np.save(greedy_file(args.out), out[0, PROBE_IDS.shape[1]:].numpy())
    return 0


def check_mlx(args):
    import mlx.core as mx
    from mlx_vlm import load

    model, _ = load(args.export)
    out = model(mx.array(PROBE_IDS))
    logits = np.array((out.logits if hasattr(out, "logits") else out).astype(mx.float32))
    expected = np.load(args.reference_logits)
    with open(os.path.join(args.export, "config.json")) as f:
        quantization = json.load(f).get("quantization")
    result = {"loaded_by": "mlx_vlm.load", "quantization": quantization, "compared_with": "transformers' logits of the model folder",
              "largest_logit_difference": float(np.abs(logits - expected).max()),
              "argmax_agreement": float((logits.argmax(-1) == expected.argmax(-1)).mean())}
    record(args.record, result)
    return 0 if quantization or result["largest_logit_difference"] <= args.tolerance else 1


# MARK: - RapidOCR

def check_rapidocr(args):
    from rapidocr import RapidOCR

    base = {
        "Rec.model_path": os.path.join(args.export, "rec.onnx"),
        "Global.use_det": False, "Global.use_cls": False, "Global.text_score": 0.0,
        "Global.use_preprocess_img": False, "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": args.threads,
    }
    rows = listing(args.listing, args.split)

    def read(params):
        engine = RapidOCR(params=params)
        out = []
        for path, _ in rows:
            result = engine(path, use_det=False, use_cls=False, use_rec=True)
            out.append("".join(result.txts) if result.txts else "")
        return out

    # RapidOCR's own pipeline; for right-to-left text its Arabic mode reorders the visual-order
    # output with python-bidi (which, by the bidi algorithm's rule X9, drops the zero-width
    # non-joiner Persian writes inside words).
    predictions = read(dict(base, **({"Rec.lang_type": "arabic"} if args.rtl else {})))
    theirs = cer([(t, p) for (_, t), p in zip(rows, predictions)])
    result = {"samples": len(rows), "rapidocr_cer": theirs[0], "rapidocr_exact_match": theirs[1], "model": base["Rec.model_path"]}
    if args.rtl:
        # The same recognition reordered with the ZWNJ kept (protected as an Arabic-letter placeholder).
        from bidi.algorithm import get_display

        visual = read(base)
        kept = [get_display(v.replace("\u200c", "\u0640")).replace("\u0640", "\u200c") for v in visual]
        k = cer([(t, p) for (_, t), p in zip(rows, kept)])
        result.update({"rapidocr_cer_zwnj_kept": k[0], "rapidocr_exact_match_zwnj_kept": k[1]})
    if args.eval:
        with open(os.path.join(args.eval, "predictions.jsonl")) as f:
            ours = [json.loads(line) for line in f]
        ocrtune = cer([(o["reference"], o["prediction"]) for o in ours])
        with open(os.path.join(args.eval, "metrics.json")) as f:
            metrics = json.load(f)
        result.update({"ocrtune_eval_cer": metrics["cer"], "ocrtune_cer_recomputed": ocrtune[0], "ocrtune_exact_match": ocrtune[1],
                       "difference_points": (theirs[0] - ocrtune[0]) * 100})
        if args.rtl:
            result["difference_points_zwnj_kept"] = (result["rapidocr_cer_zwnj_kept"] - ocrtune[0]) * 100
    record(args.record, result)
    compared = result.get("difference_points_zwnj_kept", result.get("difference_points", 0))
    return 0 if not args.eval or abs(compared) <= args.tolerance else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("trocr-onnx")
    p.add_argument("--model", required=True)
    p.add_argument("--export", required=True)
    p.add_argument("--listing", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=30)
    p.add_argument("--variants", default="fp32,fp16,int8,uint8,q4")
    p = sub.add_parser("hf")
    p.add_argument("--export", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p = sub.add_parser("peft")
    p.add_argument("--export", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--merged", required=True)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p = sub.add_parser("latex-onnx")
    p.add_argument("--export", required=True)
    p.add_argument("--package", required=True, help="the folder holding latex_ocr_junia/ (an unpacked wheel)")
    p.add_argument("--listing", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=32)
    p.add_argument("--variants", default="fp32,fp16,int8")
    p = sub.add_parser("gguf")
    p.add_argument("--export", required=True)
    p.add_argument("--reference", required=True, help="the model's hf export (transformers 5.x keys; DeepSeek-OCR: original keys)")
    p = sub.add_parser("logits")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("mlx")
    p.add_argument("--export", required=True)
    p.add_argument("--reference-logits", required=True, help="`logits --model MODEL_DIR --out F.npy` in a Python with torch")
    p.add_argument("--tolerance", type=float, default=1e-4)
    p = sub.add_parser("llama")
    p.add_argument("--export", required=True)
    p.add_argument("--reference-logits", required=True)
    p.add_argument("--image")
    p.add_argument("--prompt", default="Free OCR.")
    p.add_argument("--max-new-tokens", type=int, default=10)
    p.add_argument("--ocrtune-text", help="what `ocrtune predict --prompt P --max-new-tokens N IMAGE` read")
    p.add_argument("--image-reference", help="`qwen-image-ref`'s .npz for --image (Qwen-VL): compare stage by stage")
    p.add_argument("--ocrtune-matched-json", help="`ocrtune predict --output-ids` on the reference's stretched .png (Qwen2.5-VL: with the model's window_size set to 112)")
    p = sub.add_parser("qwen-image-ref")
    p.add_argument("--model", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--out", required=True, help="F.npz (the stretched image is written as F.png)")
    p.add_argument("--prompt", default="Free OCR.")
    p.add_argument("--max-new-tokens", type=int, default=10)
    p = sub.add_parser("llama-image")
    p.add_argument("--export", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--prompt", default="Free OCR.")
    p.add_argument("--ocrtune-json", required=True, help="the line `ocrtune predict --prompt '<image>\\nP' --output-ids IMAGE` printed")
    p = sub.add_parser("rapidocr")
    p.add_argument("--export", required=True)
    p.add_argument("--listing", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--eval")
    p.add_argument("--rtl", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tolerance", type=float, default=0.2)
    for p in sub.choices.values():
        p.add_argument("--record", help="merge the result into bench/results/export.json under this name")
    args = parser.parse_args()
    return {"trocr-onnx": check_trocr_onnx, "latex-onnx": check_latex_onnx, "hf": check_hf, "gguf": check_gguf, "mlx": check_mlx, "logits": save_logits, "llama": check_llama, "llama-image": check_llama_image, "qwen-image-ref": save_qwen_image_reference, "peft": check_peft, "rapidocr": check_rapidocr}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
