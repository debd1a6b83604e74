#!/usr/bin/env python3
"""Tiny random Qwen2.5-VL and Qwen3-VL checkpoints + expected outputs for the Swift parity tests.

Run with the dev venv (transformers 5.x, torch CPU, tokenizers):

    OMP_NUM_THREADS=1 /tmp/torchvenv/bin/python tools/make_qwenvl_fixtures.py [--chat-only | --batch-only]

(--chat-only rewrites only the chat templates and chat_cases.json from the committed folders;
--batch-only only images/batch2.png and expected_batch.json, the left-padded batch, from them. A
full run writes both after the rest.)

Writes Tests/OCRModelsTests/Fixtures/qwen2_5_vl-tiny/ and qwen3_vl-tiny/: a Hugging Face folder
(config.json, model.safetensors — sharded with model.safetensors.index.json for Qwen3-VL —,
tokenizer.json, tokenizer_config.json, preprocessor_config.json) plus `images/*.png` (the inputs)
`expected_pixel_values.safetensors` (the processor's patches) and `expected.json` (processor outputs, input ids, M-RoPE position ids, a slice of the fp32 logits
and 10 greedy tokens). The image processor is transformers' default one;
its class name is recorded. Without torchvision (as in the dev venv) that is the PIL backend:
PIL's bicubic resize on uint8.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers, Regex
from transformers import (
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "OCRModelsTests" / "Fixtures"
TEMPLATES = ROOT.parent.parent / "OCRTextTests" / "Fixtures" / "chat_templates"
# The real instruct templates (see OCRTextTests/Fixtures/chat_templates/SOURCES.md), written into
# the tiny folders the way the Hub folders ship them.
TEMPLATE_FILES = {"qwen2_5_vl": ("qwen2_5_vl_instruct.chat_template.json", "chat_template.json"),
                  "qwen3_vl": ("qwen3_vl_instruct.chat_template.json", "chat_template.jinja")}
# Conversations rendered with transformers' apply_chat_template: (system or None, images, text).
CHAT_CASES = [
    (None, 2, "Free OCR."),
    (None, 1, "Convert the formula in the image to LaTeX."),
    ("You are an OCR engine.", 1, 'Extract these fields as JSON: "date", "total".\nReply with JSON only.'),
]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>"]
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
CORPUS = [
    "Free OCR. Read the text in the image.", "Convert the formula to LaTeX: \\frac{a}{b} + x^2 = 0",
    "Extract the fields as JSON: {\"date\": \"2024-01-05\", \"total\": \"12.50\"}",
    "You are a helpful assistant.", "The quick brown fox jumps over the lazy dog 0123456789.",
    "Invoice number 42, total amount due 17.30 EUR.", "user assistant system image text line",
] * 20


def make_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=360, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   unk_token=None, model_max_length=32768)
    fast.save_pretrained(folder)
    return fast


def make_images(folder: Path):
    """Two small RGB images: 56×84 (already a multiple of 28 and of 32: no resize for Qwen2.5-VL) and
    150×250 (needs smart_resize in both)."""
    rng = np.random.default_rng(7)
    out = []
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate([(56, 84), (150, 250)]):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) * 7) % 256], -1)
        noise = rng.integers(0, 60, size=(h, w, 3))
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, "RGB")
        img.save(folder / "images" / f"image{i}.png")
        out.append(img)
    return out


def prompt_text(system: bool) -> str:
    sys_part = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" if system else ""
    return (f"{sys_part}<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"
            "<|vision_start|><|image_pad|><|vision_end|>Free OCR.<|im_end|>\n<|im_start|>assistant\n")


def write_chat_cases(kind: str, folder: Path, fast, grids, merge: int = 2):
    """Writes the folder's chat template and `chat_cases.json`: each conversation (a user turn of
    image parts then the text, after an optional system turn) rendered by transformers with
    add_generation_prompt, and its token ids with the placeholders expanded for `grids`."""
    source, target = TEMPLATE_FILES[kind]
    template = json.loads((TEMPLATES / source).read_text())["chat_template"]
    for old in ("chat_template.json", "chat_template.jinja"):
        if (folder / old).exists():
            (folder / old).unlink()
    if target.endswith(".jinja"):
        (folder / target).write_text(template)
    else:
        (folder / target).write_text(json.dumps({"chat_template": template}, indent=2))
    cases = []
    for system, images, text in CHAT_CASES:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": [{"type": "image"}] * images + [{"type": "text", "text": text}]})
        rendered = fast.apply_chat_template(messages, chat_template=template, tokenize=False,
                                            add_generation_prompt=True)
        parts = rendered.split("<|image_pad|>")
        assert len(parts) == images + 1
        expanded = parts[0]
        for grid, rest in zip(grids[:images], parts[1:]):
            expanded += "<|image_pad|>" * (grid[0] * grid[1] * grid[2] // (merge * merge)) + rest
        cases.append({"system": system, "images": images, "text": text, "rendered": rendered,
                      "input_ids": fast(expanded, add_special_tokens=False)["input_ids"]})
    (folder / "chat_cases.json").write_text(json.dumps(cases))
    return cases


# The batched-generation case: one image per prompt, images of different sizes (so different
# numbers of visual tokens and prompt lengths), left-padded into one `generate` call.
BATCH_IMAGES = ["image0.png", "image1.png", "batch2.png"]
BATCH_TEXT = "Free OCR."
BATCH_NEW_TOKENS = 12


def write_batch_case(kind: str, folder: Path):
    """Writes images/batch2.png (40×130) and `expected_batch.json`: transformers' greedy output for
    the three single-image prompts of BATCH_IMAGES in one left-padded batch (the tokenizer's
    padding_side="left", pad token <|endoftext|>, attention mask 0 on the padding), the
    position ids and rope deltas of `get_rope_index` with that mask, each prompt generated
    alone, and the batch again with an EOS that the first row reaches early (per-row stopping).
    Generated rows are cut after their first EOS (transformers pads finished rows)."""
    rng = np.random.default_rng(11)
    arr = np.clip(rng.integers(0, 256, size=(40, 130, 3)) // 2 + 64, 0, 255).astype(np.uint8)
    Image.fromarray(arr, "RGB").save(folder / "images" / "batch2.png")
    images = [Image.open(folder / "images" / name).convert("RGB") for name in BATCH_IMAGES]
    fast = PreTrainedTokenizerFast.from_pretrained(folder, padding_side="left")
    model_class = Qwen2_5_VLForConditionalGeneration if kind == "qwen2_5_vl" else Qwen3VLForConditionalGeneration
    model = model_class.from_pretrained(folder, dtype=torch.float32).eval()
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
    ids = {t: fast.convert_tokens_to_ids(t) for t in SPECIALS}
    template_file = folder / TEMPLATE_FILES[kind][1]
    template = template_file.read_text()
    if template_file.suffix == ".json":
        template = json.loads(template)["chat_template"]
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": BATCH_TEXT}]}]
    rendered = fast.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=True)
    merge = model.config.vision_config.spatial_merge_size
    rows, pixel_rows, grids = [], [], []
    for image in images:
        one = image_processor([image], return_tensors="pt")
        grid = one["image_grid_thw"][0].tolist()
        before, after = rendered.split("<|image_pad|>")
        text = before + "<|image_pad|>" * (grid[0] * grid[1] * grid[2] // merge ** 2) + after
        rows.append(fast(text, add_special_tokens=False)["input_ids"])
        pixel_rows.append(one["pixel_values"])
        grids.append(grid)
    padded = fast.pad({"input_ids": rows}, padding=True, return_tensors="pt")
    assert (padded["input_ids"][:, 0] == ids["<|endoftext|>"]).any(), "no row is padded"

    def run(input_ids, attention_mask, pixel_values, grid_thw, eos):
        inputs = dict(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values,
                      image_grid_thw=torch.tensor(grid_thw),
                      mm_token_type_ids=(input_ids == ids["<|image_pad|>"]).int())
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=BATCH_NEW_TOKENS, do_sample=False, eos_token_id=[eos],
                                 pad_token_id=ids["<|endoftext|>"])
        new = out[:, input_ids.shape[1]:].tolist()
        return [row[:row.index(eos) + 1] if eos in row else row for row in new]

    pixels = torch.cat(pixel_rows, 0)
    eos = ids["<|im_end|>"]
    batched = run(padded["input_ids"], padded["attention_mask"], pixels, grids, eos)
    single = [run(torch.tensor([r]), torch.ones(1, len(r), dtype=torch.long), p, [g], eos)[0]
              for r, p, g in zip(rows, pixel_rows, grids)]
    assert batched == single, (batched, single)
    # An EOS that row 0 reaches early and no other row emits before the end: the rows stop apart.
    early = next(t for t in batched[0][1:] if all(t not in other for other in batched[1:]))
    stopped = run(padded["input_ids"], padded["attention_mask"], pixels, grids, early)
    assert len(stopped[0]) < BATCH_NEW_TOKENS and len(stopped[1]) == BATCH_NEW_TOKENS, stopped
    with torch.no_grad():
        position_ids, deltas = model.model.get_rope_index(
            padded["input_ids"], mm_token_type_ids=(padded["input_ids"] == ids["<|image_pad|>"]).int(),
            image_grid_thw=torch.tensor(grids), attention_mask=padded["attention_mask"])
    expected = {
        "images": BATCH_IMAGES, "text": BATCH_TEXT, "max_new_tokens": BATCH_NEW_TOKENS,
        "pad_token_id": ids["<|endoftext|>"], "eos_token_id": eos,
        "image_grid_thw": grids, "input_ids": rows,
        "padded_input_ids": padded["input_ids"].tolist(), "attention_mask": padded["attention_mask"].tolist(),
        "position_ids": position_ids.tolist(), "rope_deltas": deltas[:, 0].tolist(),
        "greedy": batched, "early_eos": early, "greedy_early_eos": stopped,
    }
    (folder / "expected_batch.json").write_text(json.dumps(expected))
    print(kind, "batch lengths", [len(r) for r in rows], "greedy", batched, "early eos", early, stopped,
          file=sys.stderr)


def save_sharded(model, folder: Path, shards: int):
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings or getattr(model.config.get_text_config(), "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)
    keys = sorted(state)
    per = (len(keys) + shards - 1) // shards
    weight_map, total = {}, 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {k: state[k] for k in keys[s * per:(s + 1) * per]}
        save_file(part, folder / name, metadata={"format": "pt"})
        for k, v in part.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True))


def build(kind: str):
    folder = ROOT / f"{kind}-tiny"
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("model*.safetensors"):
        f.unlink()
    torch.manual_seed(0)
    fast = make_tokenizer(folder)
    ids = {t: fast.convert_tokens_to_ids(t) for t in SPECIALS}
    vocab = len(fast)
    common_text = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                       rms_norm_eps=1e-6, hidden_act="silu", bos_token_id=None,
                       eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    special = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                   vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    if kind == "qwen2_5_vl":
        text = dict(common_text, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                                                  "mrope_section": [2, 3, 3]}, tie_word_embeddings=False)
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                      patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56,
                      fullatt_block_indexes=[1], hidden_act="silu", tokens_per_second=2)
        config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=False, **special)
        model = Qwen2_5_VLForConditionalGeneration(config)
        patch, system = 14, True
        mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    else:
        text = dict(common_text, head_dim=16, attention_bias=False, tie_word_embeddings=True,
                    rope_parameters={"rope_type": "default", "rope_theta": 5000000.0,
                                     "mrope_section": [4, 2, 2], "mrope_interleaved": True})
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                      patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16,
                      deepstack_visual_indexes=[0, 1], hidden_act="gelu_pytorch_tanh")
        config = Qwen3VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **special)
        model = Qwen3VLForConditionalGeneration(config)
        patch, system = 16, False
        mean, std = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
    # Larger than default init so that the tiny model's logits are not flat.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.normal_(0, 0.2)
            elif "norm" in name or "ln_q" in name:
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0, 0.1)
    model.eval()
    model.config.save_pretrained(folder)
    if kind == "qwen2_5_vl":
        model.save_pretrained(folder)
    else:
        save_sharded(model, folder, shards=2)
    for extra in ("generation_config.json",):
        if (folder / extra).exists():
            (folder / extra).unlink()

    min_pixels, max_pixels = 4 * (patch * 2) ** 2, 64 * (patch * 2) ** 2
    image_processor = Qwen2VLImageProcessorPil(patch_size=patch, merge_size=2, temporal_patch_size=2,
                                            size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
                                            image_mean=mean, image_std=std)
    image_processor.save_pretrained(folder)
    images = make_images(folder)
    text_prompt = prompt_text(system)
    inputs = dict(image_processor(images, return_tensors="pt"))
    # The processor's placeholder expansion (its class needs torchvision for the video part):
    # each <|image_pad|> becomes grid_t·grid_h·grid_w / merge² copies, in image order.
    parts = text_prompt.split("<|image_pad|>")
    expanded = parts[0]
    for grid, rest in zip(inputs["image_grid_thw"].tolist(), parts[1:]):
        expanded += "<|image_pad|>" * (grid[0] * grid[1] * grid[2] // 4) + rest
    input_ids = torch.tensor([fast(expanded, add_special_tokens=False)["input_ids"]])
    inputs["input_ids"] = input_ids
    inputs["attention_mask"] = torch.ones_like(input_ids)
    inputs["mm_token_type_ids"] = (input_ids == ids["<|image_pad|>"]).int()
    with torch.no_grad():
        out = model(**inputs)
        position_ids, deltas = model.model.get_rope_index(
            inputs["input_ids"], mm_token_type_ids=inputs["mm_token_type_ids"],
            image_grid_thw=inputs["image_grid_thw"])
        # Answer-only loss: the last 8 tokens play the answer, the rest is masked with -100.
        labels = inputs["input_ids"].clone()
        labels[:, :-8] = -100
        loss = model(**inputs, labels=labels).loss
        gen = model.generate(**inputs, max_new_tokens=10, do_sample=False, eos_token_id=[ids["<|im_end|>"]],
                             pad_token_id=ids["<|endoftext|>"])
    logits = out.logits[0].float()
    seq = logits.shape[0]
    new_tokens = gen[0, inputs["input_ids"].shape[1]:].tolist()
    # smart_resize cases (h, w, factor, min, max) -> (h', w') for the Swift unit test.
    cases = []
    for h, w in [(56, 84), (150, 250), (10, 1000), (1000, 30), (4000, 3000), (28, 28), (333, 777), (1, 190)]:
        try:
            cases.append([h, w, patch * 2, min_pixels, max_pixels, *smart_resize(h, w, patch * 2, min_pixels, max_pixels)])
        except ValueError:
            cases.append([h, w, patch * 2, min_pixels, max_pixels, -1, -1])
    pv = inputs["pixel_values"].float()
    expected = {
        "image_processor": type(image_processor).__name__,
        "resample": "PIL bicubic on uint8" if "Pil" in type(image_processor).__name__ else "torchvision bicubic, antialias",
        "prompt": text_prompt,
        "image_grid_thw": inputs["image_grid_thw"].tolist(),
        "pixel_values_shape": list(pv.shape),
        "pixel_values_sum": float(pv.double().sum()),
        "pixel_values_abs_sum": float(pv.double().abs().sum()),
        "pixel_values_row_sums": pv.double().sum(1).tolist(),
        "input_ids": inputs["input_ids"][0].tolist(),
        "position_ids": position_ids[:, 0].tolist(),
        "rope_delta": int(deltas[0, 0]),
        "logits_last": logits[-1].tolist(),
        "logits_rows": {str(i): logits[i].tolist() for i in sorted({0, seq // 3, seq // 2, seq - 2})},
        "logits_sum": float(logits.double().sum()),
        "greedy_new_tokens": new_tokens,
        "loss_last8": float(loss),
        "smart_resize_cases": cases,
        "special_ids": ids,
    }
    (folder / "expected.json").write_text(json.dumps(expected))
    save_file({"pixel_values": pv.contiguous()}, folder / "expected_pixel_values.safetensors")
    cases = write_chat_cases(kind, folder, fast, expected["image_grid_thw"])
    # The first case is the parity conversation: the real template renders the prompt used above.
    assert cases[0]["rendered"] == text_prompt, (cases[0]["rendered"], text_prompt)
    print(kind, "grid", expected["image_grid_thw"], "seq", seq, "gen", new_tokens, file=sys.stderr)
    write_batch_case(kind, folder)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for kind in ("qwen2_5_vl", "qwen3_vl"):
        if "--batch-only" in sys.argv:
            write_batch_case(kind, ROOT / f"{kind}-tiny")
        elif "--chat-only" in sys.argv:
            # Only the chat template and chat_cases.json, from the committed folder.
            folder = ROOT / f"{kind}-tiny"
            expected = json.loads((folder / "expected.json").read_text())
            fast = PreTrainedTokenizerFast.from_pretrained(folder)
            cases = write_chat_cases(kind, folder, fast, expected["image_grid_thw"])
            assert cases[0]["rendered"] == expected["prompt"], (cases[0]["rendered"], expected["prompt"])
            assert cases[0]["input_ids"] == expected["input_ids"]
        else:
            build(kind)
