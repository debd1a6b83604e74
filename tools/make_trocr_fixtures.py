#!/usr/bin/env python3
"""Tiny random TrOCR-style VisionEncoderDecoder checkpoints and their expected outputs.

Writes Tests/OCRModelsTests/Fixtures/trocr-vit/ (ViT encoder, learned positions, tied output
projection, enc_to_dec_proj) and trocr-deit/ (DeiT encoder with the distillation token,
sinusoidal positions, scaled embeddings, no embedding layernorm, untied output projection,
cross_attention_hidden_size) and trocr-beit/ (BEiT encoder on a non-square grid with layer scale,
shared and per-layer relative position bias, a mask token, mean pooling — so no final layernorm —
and a decoder as wide as the encoder, so no enc_to_dec_proj), each a Hugging Face folder (config.json, model.safetensors,
tokenizer.json, preprocessor_config.json, generation_config.json) plus `expected.safetensors`
and `expected.json`; and the input images in Fixtures/trocr/*.png (different sizes, so the
Pillow resize matters, upsampling and downsampling). Also beit-square/: a BeitModel alone (square
grid, absolute positions, per-layer relative bias, no layer scale, final layernorm) with its
last hidden state for two random inputs.

Run: OMP_NUM_THREADS=1 PYTHONPATH=/tmp/pillow12 /tmp/torchvenv/bin/python tools/make_trocr_fixtures.py [kind ...]
(kinds: vit deit beit; all by default — seeded, so re-running rewrites identical files)
(transformers 5.x, tokenizers, pillow < 13, safetensors; fp32, seeded.)

Pillow 13 changed Image.resize's arithmetic for some size pairs (e.g. widening while shrinking
the height); the checkpoints' training inputs were made by earlier Pillow, whose two-pass
ImagingResample ocrtune reproduces, so the fixtures are made with Pillow 12
(`pip install --target /tmp/pillow12 "pillow<13"` and PYTHONPATH=/tmp/pillow12).
"""
import json
import os
import sys

import numpy as np
import torch
import PIL
from PIL import Image, ImageDraw
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, trainers
from transformers import (BeitConfig, BeitModel, DeiTConfig, TrOCRConfig, ViTConfig, VisionEncoderDecoderConfig,
                          VisionEncoderDecoderModel)
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "OCRModelsTests", "Fixtures")
IMAGES = os.path.join(ROOT, "trocr")
CORPUS = [
    "the quick brown fox jumps over the lazy dog", "x^2 + y^2 = z^2", "\\frac{a}{b} + \\sqrt{c}",
    "Handwritten text, 1984.", "über naïve café", "E = mc^2", "ocrtune fine-tunes OCR models",
    "\\sum_{i=0}^{n} i = \\frac{n(n+1)}{2}", "Hello, world!", "0123456789",
]


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    return tok


def make_images():
    os.makedirs(IMAGES, exist_ok=True)
    rng = np.random.default_rng(7)
    specs = [("line-wide.png", 181, 37, "x^2 + y^2"), ("line-small.png", 23, 11, "E"), ("line-tall.png", 45, 70, "ab")]
    paths = []
    for name, w, h, text in specs:
        base = rng.integers(150, 256, size=(h, w, 3), dtype=np.uint8)
        img = Image.fromarray(base, "RGB")
        ImageDraw.Draw(img).text((2, h // 4), text, fill=(10, 20, 30))
        path = os.path.join(IMAGES, name)
        img.save(path)
        paths.append(path)
    return paths


def make_resize_cases():
    """Random uint8 images resized by Pillow (BILINEAR, BICUBIC) for size pairs covering
    up/down/mixed scaling per axis: `resize-cases.safetensors` holds input.<i>, output.<i>
    and size.<i> = [src_w, src_h, dst_w, dst_h, filter]."""
    rng = np.random.default_rng(11)
    pairs = [(40, 30, 17, 9), (13, 7, 50, 31), (45, 70, 64, 32), (64, 20, 30, 41), (97, 23, 96, 23),
             (5, 60, 5, 13), (33, 33, 34, 32), (120, 16, 24, 16), (1, 9, 4, 3), (70, 50, 7, 5)]
    tensors = {}
    for i, (sw, sh, dw, dh) in enumerate(pairs):
        filt = 2 if i % 2 == 0 else 3
        src = rng.integers(0, 256, size=(sh, sw, 3), dtype=np.uint8)
        out = np.array(Image.fromarray(src, "RGB").resize((dw, dh), filt))
        tensors[f"input.{i}"] = torch.from_numpy(src.copy())
        tensors[f"output.{i}"] = torch.from_numpy(out.copy())
        tensors[f"size.{i}"] = torch.tensor([sw, sh, dw, dh, filt], dtype=torch.int32)
    save_file(tensors, os.path.join(IMAGES, "resize-cases.safetensors"))


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layernorm" in name or "layer_norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))


def build(kind, vocab):
    if kind == "vit":
        enc = ViTConfig(hidden_size=40, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                        image_size=[32, 64], patch_size=8, hidden_act="gelu")
        dec = TrOCRConfig(vocab_size=vocab, d_model=32, decoder_layers=2, decoder_attention_heads=4,
                          decoder_ffn_dim=64, max_position_embeddings=64, activation_function="gelu",
                          use_learned_position_embeddings=True, scale_embedding=False, layernorm_embedding=True)
    elif kind == "beit":
        enc = BeitConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=56,
                         image_size=[24, 40], patch_size=8, hidden_act="gelu", layer_norm_eps=1e-6,
                         use_mask_token=True, use_absolute_position_embeddings=False,
                         use_relative_position_bias=True, use_shared_relative_position_bias=True,
                         layer_scale_init_value=0.1, use_mean_pooling=True)
        dec = TrOCRConfig(vocab_size=vocab, d_model=32, decoder_layers=2, decoder_attention_heads=4,
                          decoder_ffn_dim=48, max_position_embeddings=64, activation_function="gelu",
                          use_learned_position_embeddings=True, scale_embedding=False, layernorm_embedding=True)
    else:
        enc = DeiTConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=80,
                         image_size=[24, 48], patch_size=8, hidden_act="gelu")
        dec = TrOCRConfig(vocab_size=vocab, d_model=32, decoder_layers=2, decoder_attention_heads=4,
                          decoder_ffn_dim=64, max_position_embeddings=64, activation_function="relu",
                          use_learned_position_embeddings=False, scale_embedding=True, layernorm_embedding=False,
                          cross_attention_hidden_size=48, tie_word_embeddings=False)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id = 2
    cfg.pad_token_id = 1
    cfg.eos_token_id = 2
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(cfg).eval()
    randomize(model, {"vit": 1, "deit": 2, "beit": 3}[kind])
    model.generation_config.decoder_start_token_id = 2
    model.generation_config.pad_token_id = 1
    model.generation_config.eos_token_id = 2
    model.generation_config.bos_token_id = 0
    return model, enc


def make_beit_square():
    """BeitModel alone: 4×4 grid, absolute positions, per-layer relative bias, no layer scale,
    final layernorm (use_mean_pooling false): config.json, model.safetensors, expected.safetensors."""
    out = os.path.join(ROOT, "beit-square")
    cfg = BeitConfig(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
                     image_size=32, patch_size=8, hidden_act="gelu", use_absolute_position_embeddings=True,
                     use_relative_position_bias=True, use_shared_relative_position_bias=False,
                     layer_scale_init_value=0.0, use_mean_pooling=False)
    torch.manual_seed(0)
    model = BeitModel(cfg, add_pooling_layer=False).eval()
    randomize(model, 4)
    model.save_pretrained(out)
    pixel_values = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        hidden = model(pixel_values=pixel_values).last_hidden_state
    save_file({"pixel_values": pixel_values.contiguous(), "last_hidden_state": hidden.contiguous()},
              os.path.join(out, "expected.safetensors"))


def main():
    major = int(PIL.__version__.split(".")[0])
    assert major < 13, f"Pillow {PIL.__version__}: use Pillow < 13 (see the module docstring)"
    torch.set_num_threads(1)
    kinds = sys.argv[1:] or ["vit", "deit", "beit"]
    tok = make_tokenizer()
    paths = make_images()
    make_resize_cases()
    if "beit" in kinds:
        make_beit_square()
    for kind in kinds:
        out = os.path.join(ROOT, f"trocr-{kind}")
        model, enc = build(kind, tok.get_vocab_size())
        model.save_pretrained(out)
        tok.save(os.path.join(out, "tokenizer.json"))
        with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
            json.dump({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}, f, indent=2)
        h, w = enc.image_size
        proc = ViTImageProcessorPil(size={"height": h, "width": w},
                                    resample=3 if kind == "deit" else 2,
                                    image_mean=[0.5, 0.5, 0.5] if kind != "deit" else [0.485, 0.456, 0.406],
                                    image_std=[0.5, 0.5, 0.5] if kind != "deit" else [0.229, 0.224, 0.225])
        proc.save_pretrained(out)
        images = [Image.open(p).convert("RGB") for p in paths]
        pixel_values = proc(images, return_tensors="pt").pixel_values
        tensors = {}
        expected = {"images": [os.path.basename(p) for p in paths]}
        with torch.no_grad():
            enc_out = model.encoder(pixel_values=pixel_values).last_hidden_state
            # Decoder logits for a fixed token sequence (start token + text tokens).
            tokens = [2] + tok.encode("x^2 + y^2 = z", add_special_tokens=False).ids
            expected["logit_tokens"] = tokens
            dec_ids = torch.tensor([tokens] * len(images))
            logits = model(pixel_values=pixel_values, decoder_input_ids=dec_ids).logits
            runs = {
                "greedy": dict(num_beams=1, do_sample=False, max_new_tokens=20),
                "beam": dict(num_beams=3, do_sample=False, max_new_tokens=20),
                "beam_options": dict(num_beams=3, do_sample=False, max_new_tokens=12, min_new_tokens=4,
                                     length_penalty=0.5, no_repeat_ngram_size=2),
                "greedy_norepeat": dict(num_beams=1, do_sample=False, max_new_tokens=15, no_repeat_ngram_size=2),
            }
            # A random model rarely emits </s>: declare frequent tokens end-of-sequence to exercise
            # EOS handling (finished rows padded, finished beam hypotheses, min_new_tokens).
            eos = {"vit": (291, 242), "deit": (43, 84), "beit": (30, 76)}[kind]
            runs["greedy_eos"] = dict(num_beams=1, do_sample=False, max_new_tokens=10, eos_token_id=eos[0])
            runs["beam_eos"] = dict(num_beams=3, do_sample=False, max_new_tokens=10, eos_token_id=eos[1])
            runs["beam_eos_min"] = dict(num_beams=3, do_sample=False, max_new_tokens=10, min_new_tokens=3,
                                        length_penalty=2.0, eos_token_id=eos[1])
            runs["beam_eos_early"] = dict(num_beams=3, do_sample=False, max_new_tokens=10, length_penalty=2.0,
                                          early_stopping=True, eos_token_id=eos[1])
            runs["beam_eos_never"] = dict(num_beams=4, do_sample=False, max_new_tokens=10, length_penalty=2.0,
                                          early_stopping="never", no_repeat_ngram_size=3, eos_token_id=eos[1])
            expected["generation"] = {}
            for name, kwargs in runs.items():
                ids = model.generate(pixel_values=pixel_values, **kwargs)
                rows = []
                for row in ids.tolist():
                    row = row[1:]  # after the decoder start token
                    while row and row[-1] == 1:  # batch padding after EOS
                        row.pop()
                    rows.append(row)
                expected["generation"][name] = {"options": kwargs, "token_ids": rows,
                                                "texts": [tok.decode(r, skip_special_tokens=True) for r in rows]}
        for i in range(len(images)):
            tensors[f"pixel_values.{i}"] = pixel_values[i].contiguous()
        tensors["encoder_output"] = enc_out.contiguous()
        tensors["logits"] = logits.contiguous()
        save_file(tensors, os.path.join(out, "expected.safetensors"))
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1)
        for name, run in expected["generation"].items():
            print(kind, name, run["token_ids"], file=sys.stderr)


if __name__ == "__main__":
    main()
