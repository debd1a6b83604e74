#!/usr/bin/env python3
"""Tiny random DeepSeek-OCR (v1) and DeepSeek-OCR 2 checkpoints + expected outputs for the Swift
parity tests (Tests/OCRModelsTests/DeepSeekOCR*Tests.swift).

    OMP_NUM_THREADS=1 /work/torchvenv/bin/python tools/make_deepseek_ocr_fixtures.py

Writes Tests/OCRModelsTests/Fixtures/
  deepseek_ocr2-tiny/   transformers' DeepseekOcr2ForConditionalGeneration, saved with
                        save_pretrained (DeepSeek's original key names, per-expert tensors),
                        its processor files, a tiny byte-level BPE tokenizer, images/*.png and
                        expected.json; transformers-layout/ holds the same weights under
                        transformers' own names (save_original_format=False: fused gate_up_proj).
  deepseek_ocr-tiny/    the v1 reference of tools/deepseek_ocr_reference.py (built from
                        transformers' components, no remote code) in the published layout
                        (model_type deepseek_vl_v2), expected.json for the Base and Gundam modes.

Random SAM weights: the SAM config's default initializer_range (1e-10) and `_init_weights` (zeroed
position tables) would make the SAM tower ~0, so every parameter is redrawn here (position tables
included). DeepSeek-OCR 2's vision emits a fixed 144 / 256 queries, so the tiny models keep the
real 1024 / 768 / 640 / 16-pixel geometry and shrink only the widths.

Pixel values are too large to commit (3×1024×1024 per view), so expected.json holds a checksum of
their float32 bits: Σ bits[i]·(i·0x9E3779B97F4A7C15 + 1) mod 2⁶⁴ over the [3, H, W] (CHW) values
of each view, plus their sum.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    DeepseekOcr2Config,
    DeepseekOcr2ForConditionalGeneration,
    DeepseekOcr2Processor,
    PreTrainedTokenizerFast,
)
from transformers.models.deepseek_ocr2.image_processing_pil_deepseek_ocr2 import DeepseekOcr2ImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepseek_ocr_reference as ref  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "OCRModelsTests" / "Fixtures"
SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image>", "<|grounding|>",
            "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>", "<td>", "</td>"]
SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
CORPUS = ["Free OCR. Read the text in the image.", "Convert the document to markdown.",
          "Extract the fields as JSON: {\"date\": \"2024-01-05\", \"total\": \"12.50\"}",
          "The quick brown fox jumps over the lazy dog 0123456789.", "Invoice 42, total due 17.30 EUR.",
          "# Title\n\n| a | b |\n| --- | --- |\n| 1 | 2 |"] * 20
IMAGES = [(300, 200), (1000, 480), (700, 800)]  # (width, height): no tiles/crops, 2, 4
PROMPT = "<image>\nFree OCR."
NEW_TOKENS = 12
SEED = 0


# MARK: - Shared pieces


def checksum(t: torch.Tensor) -> str:
    bits = t.detach().float().contiguous().numpy().view(np.uint32).reshape(-1).astype(np.uint64)
    weights = np.arange(bits.size, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    with np.errstate(over="ignore"):
        return str(int((bits * weights).sum(dtype=np.uint64)))


def view_record(t: torch.Tensor) -> dict:
    return {"shape": list(t.shape), "checksum": checksum(t), "sum": float(t.double().sum())}


def make_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    assert tok.token_to_id(SPECIALS[0]) == 0 and tok.token_to_id(SPECIALS[1]) == 1
    tok.post_processor = processors.TemplateProcessing(single=f"{SPECIALS[0]} $A", pair=f"{SPECIALS[0]} $A $B",
                                                       special_tokens=[(SPECIALS[0], 0)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIALS[0], eos_token=SPECIALS[1],
                                   pad_token=SPECIALS[2], unk_token=None, model_max_length=8192)
    fast.save_pretrained(folder)
    return fast


def make_images(folder: Path) -> list:
    """Blocky RGB images (8-pixel blocks of random colours over a gradient): compress well in PNG
    and still have edges for the resampling."""
    rng = np.random.default_rng(7)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for i, (w, h) in enumerate(IMAGES):
        blocks = rng.integers(0, 256, size=((h + 7) // 8, (w + 7) // 8, 3))
        arr = np.repeat(np.repeat(blocks, 8, 0), 8, 1)[:h, :w]
        yy, xx = np.mgrid[0:h, 0:w]
        arr = (arr * 3 + np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 127 // (w + h)], -1)) // 4
        img = Image.fromarray(arr.astype(np.uint8), "RGB")
        img.save(folder / "images" / f"image{i}.png", optimize=True)
        out.append(img)
    return out


def randomize(model: torch.nn.Module):
    """Larger than default init so the tiny model's logits are not flat (and its greedy outputs not
    one repeated id); norms near 1; every table (SAM's absolute and relative positions, queries,
    separators) random."""
    torch.manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and p.ndim == 1 and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
            elif name.endswith("embed_tokens.weight"):
                p.normal_(0, 1.0)  # token identity dominates: greedy outputs vary instead of repeating one id
            elif name == "lm_head.weight":
                p.normal_(0, 0.5)
            elif p.ndim >= 2:
                fan_in = p[0].numel() if p.ndim > 1 else p.numel()
                p.normal_(0, min(0.2, 1.5 / fan_in ** 0.5))
            else:
                p.normal_(0, 0.1)


def text_config(vocab: int) -> dict:
    return dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=4, n_routed_experts=8, num_experts_per_tok=3, n_shared_experts=2,
                moe_intermediate_size=16, rms_norm_eps=1e-6, bos_token_id=0, eos_token_id=1,
                routed_scaling_factor=1.0)


SAM = dict(width=16, layers=2, heads=2, global_attn_indexes=[1], downsample_channels=[16, 24], output_channels=16)


def logit_record(logits: torch.Tensor) -> dict:
    seq = logits.shape[0]
    rows = sorted({0, seq // 3, seq // 2, seq - 2, seq - 1})
    return {"rows": {str(i): logits[i].tolist() for i in rows}, "sum": float(logits.double().sum()),
            "abs_sum": float(logits.double().abs().sum())}


def pad_left(rows: list, pad: int):
    n = max(len(r) for r in rows)
    ids = torch.tensor([[pad] * (n - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (n - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


# MARK: - DeepSeek-OCR 2


def build_v2():
    folder = ROOT / "deepseek_ocr2-tiny"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    fast = make_tokenizer(folder)
    image_id = fast.convert_tokens_to_ids("<image>")
    t = text_config(len(fast))
    t["mlp_layer_types"] = ["dense", "sparse", "sparse"]
    config = DeepseekOcr2Config(
        vision_config=dict(
            sam_config=dict(hidden_size=SAM["width"], num_hidden_layers=SAM["layers"], num_attention_heads=SAM["heads"],
                            global_attn_indexes=SAM["global_attn_indexes"], output_channels=SAM["output_channels"],
                            downsample_channels=SAM["downsample_channels"], initializer_range=0.02),
            encoder_config=dict(hidden_size=24, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                num_key_value_heads=1, vocab_size=16)),
        text_config=t, image_token_id=image_id)
    config._attn_implementation = "eager"
    model = DeepseekOcr2ForConditionalGeneration(config).eval()
    randomize(model)
    model.save_pretrained(folder)  # DeepSeek's original key names (the default)
    (folder / "transformers-layout").mkdir()
    model.save_pretrained(folder / "transformers-layout", save_original_format=False)
    for f in list(folder.glob("generation_config.json")) + list((folder / "transformers-layout").glob("generation_config.json")):
        f.unlink()
    processor = DeepseekOcr2Processor(image_processor=DeepseekOcr2ImageProcessorPil(), tokenizer=fast)
    processor.save_pretrained(folder)
    images = make_images(folder)

    cases = []
    singles = []
    for i, image in enumerate(images):
        inputs = processor(images=image, text=PROMPT, return_tensors="pt")
        with torch.no_grad():
            out = model(**inputs)
            labels = inputs["input_ids"].clone()
            labels[:, :-4] = -100
            loss = model(**inputs, labels=labels).loss
            gen = model.generate(**inputs, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=1, pad_token_id=2)
        new = gen[0, inputs["input_ids"].shape[1]:].tolist()
        singles.append(new)
        local = inputs.get("pixel_values_local")
        cases.append({
            "image": f"images/image{i}.png", "size": list(image.size),
            "input_ids": inputs["input_ids"][0].tolist(),
            "num_local_patches": int(inputs["num_local_patches"][0]),
            "image_tokens": int((inputs["input_ids"][0] == image_id).sum()),
            "global": view_record(inputs["pixel_values"][0]),
            "local": [view_record(p) for p in local] if local is not None else [],
            "logits": logit_record(out.logits[0]),
            "loss_last4": float(loss),
            "greedy": new,
        })
        print("v2 image", i, image.size, "tokens", len(cases[-1]["input_ids"]), "tiles",
              cases[-1]["num_local_patches"], "greedy", new, file=sys.stderr)
    # All three in one left-padded batch.
    fast.padding_side = "left"
    batch = processor(images=images, text=[PROMPT] * 3, return_tensors="pt", padding=True)
    with torch.no_grad():
        gen = model.generate(**batch, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=1, pad_token_id=2)
    batched = [row[:row.index(1) + 1] if 1 in row else row for row in gen[:, batch["input_ids"].shape[1]:].tolist()]
    assert batched == [s[:s.index(1) + 1] if 1 in s else s for s in singles], (batched, singles)
    expected = {"prompt": PROMPT, "image_token_id": image_id, "eos_token_id": 1, "pad_token_id": 2,
                "max_new_tokens": NEW_TOKENS, "cases": cases, "batch_greedy": batched,
                "batch_input_ids": batch["input_ids"].tolist()}
    (folder / "expected.json").write_text(json.dumps(expected))


# MARK: - DeepSeek-OCR (v1)


def build_v1():
    folder = ROOT / "deepseek_ocr-tiny"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    fast = make_tokenizer(folder)
    image_id = fast.convert_tokens_to_ids("<image>")
    text = text_config(len(fast))
    text.update(first_k_dense_replace=1, rope_theta=10000.0)
    clip = dict(width=SAM["downsample_channels"][1], heads=2, layers=2, image_size=224, patch_size=14)  # ffn 4·width, as the code
    config = ref.v1_config(SAM, clip, text, image_id)
    model = ref.build_v1(config).eval()
    randomize(model)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    state = {k: v.contiguous() for k, v in ref.to_original_state(model.state_dict()).items()}
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    # The round trip the PEFT check and the bench rely on.
    model.load_state_dict(ref.to_reference_state(state))
    images = make_images(folder)

    modes = {}
    for mode in ("base", "gundam"):
        cases, singles, prepared = [], [], []
        for i, image in enumerate(images):
            view, crops, grid, count = ref.process_image(image, mode)
            ids = ref.prompt_ids(fast, PROMPT, [count])
            one = [(view, crops, grid)]
            prepared.append((ids, one))
            input_ids = torch.tensor([ids])
            with torch.no_grad():
                logits = model(input_ids, [one])[0]
                labels = input_ids[0, 1:].clone()
                labels[:-4] = -100
                loss = F_cross_entropy(logits[:-1], labels)
                new = model.generate_greedy(input_ids, [one], torch.ones_like(input_ids), NEW_TOKENS, eos=1, pad=2)[0]
            singles.append(new)
            cases.append({
                "image": f"images/image{i}.png", "size": list(image.size), "input_ids": ids,
                "image_tokens": count, "crop_grid": list(grid),
                "global": view_record(view), "local": [view_record(c) for c in crops] if crops is not None else [],
                "logits": logit_record(logits), "loss_last4": float(loss), "greedy": new,
            })
            print("v1", mode, "image", i, image.size, "tokens", len(ids), "grid", grid, "greedy", new, file=sys.stderr)
        ids, mask = pad_left([p[0] for p in prepared], pad=2)
        with torch.no_grad():
            batched = model.generate_greedy(ids, [p[1] for p in prepared], mask, NEW_TOKENS, eos=1, pad=2)
        assert batched == singles, (batched, singles)
        modes[mode] = {"cases": cases, "batch_greedy": batched}
    expected = {"prompt": PROMPT, "image_token_id": image_id, "eos_token_id": 1, "pad_token_id": 2,
                "max_new_tokens": NEW_TOKENS, "modes": modes}
    (folder / "expected.json").write_text(json.dumps(expected))


def write_interpolation_cases():
    """PyTorch's antialiased bicubic resize of position grids (shrink and grow) and linear resize of
    relative-position tables, for PositionInterpolation's unit test (interpolation.json)."""
    torch.manual_seed(1)
    grid = torch.randn(1, 3, 5, 7)  # [1, C, H, W]
    table = torch.randn(9, 4)  # [L, C]
    cases = {"grid": grid[0].permute(1, 2, 0).reshape(-1).tolist(), "grid_shape": [5, 7, 3],
             "table": table.reshape(-1).tolist(), "table_shape": [9, 4], "bicubic": [], "linear": []}
    for h, w in [(3, 4), (9, 11), (5, 3), (2, 14)]:
        out = torch.nn.functional.interpolate(grid, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
        cases["bicubic"].append({"size": [h, w], "values": out[0].permute(1, 2, 0).reshape(-1).tolist()})
    for n in (5, 17, 9):
        out = torch.nn.functional.interpolate(table.t()[None], size=n, mode="linear")[0].t()
        cases["linear"].append({"size": n, "values": out.reshape(-1).tolist()})
    (ROOT / "deepseek_ocr-tiny" / "interpolation.json").write_text(json.dumps(cases))


def F_cross_entropy(logits, labels):
    return torch.nn.functional.cross_entropy(logits.float(), labels, ignore_index=-100)


if __name__ == "__main__":
    torch.set_num_threads(1)
    which = sys.argv[1:] or ["v2", "v1"]
    if "v2" in which:
        build_v2()
    if "v1" in which:
        build_v1()
    if "v1" in which or "interp" in which:
        write_interpolation_cases()
