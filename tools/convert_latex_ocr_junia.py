#!/usr/bin/env python3
"""Converts the PyPI package `latex-ocr-junia` (0.1.3) into an ocrtune model folder, and makes
the tiny parity fixture of its architecture.

    # the real model (assets/best.pt → safetensors; torch.load only here, in a dev tool)
    python3 tools/convert_latex_ocr_junia.py convert --package DIR --out /work/models/latex-ocr-junia
    # the tiny random model + expected outputs for Tests/OCRModelsTests/Fixtures/latex-junia-tiny
    python3 tools/convert_latex_ocr_junia.py fixture --package DIR --out Tests/OCRModelsTests/Fixtures/latex-junia-tiny

DIR is the folder holding the package (`latex_ocr_junia/`, e.g. an unpacked wheel) or the package
folder itself. Needs torch, numpy, Pillow and safetensors (dev-only; not run by `make test`).

The model folder:
  config.json              model_type "latex_ocr_junia" + the package's ModelConfig fields
  model.safetensors        the state dict under the package's module names (nn.MultiheadAttention's
                           fused `in_proj_weight` / `in_proj_bias` kept as is; the patch conv in
                           PyTorch layout [out, 1, p, p])
  char_tokenizer.json      the package's character vocabulary, unchanged ({"token_to_id", "specials"})
  preprocessor_config.json what `data.load_and_preprocess_image` does, as data
  generation_config.json   greedy decoding by default (ocrtune's eval and training validation);
                           the package's predict.py uses beam 3, length penalty 0.6: pass
                           `ocrtune predict --beam-width 3` for that
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file


def import_package(directory: str):
    path = Path(directory).resolve()
    if (path / "model.py").exists() and path.name == "latex_ocr_junia":
        path = path.parent
    if not (path / "latex_ocr_junia" / "model.py").exists():
        sys.exit(f"{directory}: no latex_ocr_junia/model.py there")
    sys.path.insert(0, str(path))
    import latex_ocr_junia.data as data
    import latex_ocr_junia.model as model
    import latex_ocr_junia.tokenizer as tokenizer
    return path / "latex_ocr_junia", model, data, tokenizer


# MARK: - Model folder

def preprocessor_config(cfg) -> dict:
    return {
        "image_processor_type": "LatexOCRJuniaImageProcessor",
        "do_convert_grayscale": True,       # PIL convert("L")
        "keep_aspect_ratio": True,           # scale = min(W / w, H / h), sizes rounded
        "resample": 2,                       # PIL.Image.BILINEAR
        "size": {"height": cfg.image_height, "width": cfg.image_width},
        "do_pad": True,                      # centred on a canvas: left = (W - w) // 2, top = (H - h) // 2
        "pad_value": 0,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
    }


def write_folder(out: Path, model, cfg, tokenizer_path: Path, tokenizer) -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "latex_ocr_junia", **cfg.to_dict(),
              "bos_token_id": tokenizer.bos_id, "eos_token_id": tokenizer.eos_id}
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    state = {k: v.detach().contiguous().float() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    shutil.copyfile(tokenizer_path, out / "char_tokenizer.json")
    (out / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(cfg), indent=2) + "\n")
    generation = {"bos_token_id": tokenizer.bos_id, "eos_token_id": tokenizer.eos_id,
                  "pad_token_id": tokenizer.pad_id, "max_length": cfg.max_length,
                  "num_beams": 1, "length_penalty": 0.6, "no_repeat_ngram_size": 0,
                  "bad_words_ids": [[tokenizer.pad_id], [tokenizer.bos_id]]}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")


def convert(args) -> None:
    package, M, _, T = import_package(args.package)
    assets = package / "assets"
    cfg = M.ModelConfig(**json.loads((assets / "model_config.json").read_text()))
    tokenizer = T.LatexTokenizer.load(assets / "tokenizer.json")
    model = M.build_model(cfg)
    checkpoint = torch.load(assets / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint.get("model_state_dict", checkpoint))
    model.eval()
    write_folder(Path(args.out), model, cfg, assets / "tokenizer.json", tokenizer)
    print(f"wrote {args.out} (epoch {checkpoint.get('epoch')}, metrics {checkpoint.get('metrics')})")


# MARK: - Tiny fixture

def make_images(out: Path) -> list[Path]:
    from PIL import Image, ImageDraw
    rng = np.random.default_rng(7)
    # a: RGB, wider than the input's aspect (downscaled, padded top and bottom), coloured ink
    # (tests PIL's RGB → L weights).
    a = Image.new("RGB", (200, 40), (250, 248, 240))
    draw = ImageDraw.Draw(a)
    draw.text((6, 8), "x^{2} + \\alpha_i = \\frac{1}{y}", fill=(20, 40, 160))
    draw.line((4, 34, 190, 30), fill=(200, 30, 30), width=2)
    noise = rng.integers(0, 12, size=(40, 200, 3), dtype=np.uint8)
    a = Image.fromarray(np.clip(np.asarray(a).astype(np.int16) - noise, 0, 255).astype(np.uint8), "RGB")
    # b: gray, small (upscaled, padded left and right).
    b = Image.new("L", (50, 30), 255)
    draw = ImageDraw.Draw(b)
    draw.text((3, 8), "\\sum k", fill=10)
    draw.ellipse((34, 4, 46, 26), outline=90, width=2)
    paths = [out / "a.png", out / "b.png"]
    a.save(paths[0])
    b.save(paths[1])
    return paths


def fixture(args) -> None:
    package, M, D, T = import_package(args.package)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_path = package / "assets" / "tokenizer.json"
    tokenizer = T.LatexTokenizer.load(tokenizer_path)
    cfg = M.ModelConfig(image_height=32, image_width=128, patch_size=8, d_model=32, num_heads=4,
                        num_encoder_layers=2, num_decoder_layers=2, mlp_dim=64, dropout=0.1, max_length=24,
                        vocab_size=tokenizer.vocab_size, pad_token_id=tokenizer.pad_id)
    paths = make_images(out)
    pixels = torch.stack([D.load_and_preprocess_image(p, cfg.image_height, cfg.image_width) for p in paths])

    # A seed whose greedy decoding has a clear winner at every step (no near-ties that float
    # rounding could flip).
    for seed in range(100):
        torch.manual_seed(seed)
        model = M.build_model(cfg).eval()
        with torch.no_grad():
            for p in model.parameters():  # larger weights: peakier, more varied outputs
                p.mul_(2.0)
            ids = model.generate(pixels, tokenizer.bos_id, tokenizer.eos_id, cfg.max_length)
            memory = model.encode(pixels)
            logits = model.decode(ids, memory)
            banned = logits.clone()
            banned[..., [tokenizer.pad_id, tokenizer.bos_id]] = -1e9
            top = banned.topk(2, dim=-1).values
            gaps = (top[..., 0] - top[..., 1])[:, :-1]
        lengths = [len(tokenizer.decode(r.tolist())) for r in ids]
        if gaps.min().item() > 1e-2 and min(lengths) >= 3:
            break
    print(f"seed {seed}: min greedy gap {gaps.min().item():.4f}, text lengths {lengths}")

    with torch.no_grad():
        prefix = torch.tensor([tokenizer.encode("x^{2}+\\a")[:-1]] * 2)
        prefix_logits = model.decode(prefix, memory)
        beam = [model.generate(pixels[i:i + 1], tokenizer.bos_id, tokenizer.eos_id, cfg.max_length,
                               beam_size=3, length_penalty=0.6)[0].tolist() for i in range(2)]
        # The training loss as the package computes it (teacher forcing, pads masked).
        texts = ["\\frac{a}{b}", "x_1"]
        encoded = [tokenizer.encode(t) for t in texts]
        width = max(len(e) for e in encoded) - 1
        dec_in = torch.tensor([e[:-1] + [tokenizer.pad_id] * (width - len(e) + 1) for e in encoded])
        labels = torch.tensor([e[1:] + [tokenizer.pad_id] * (width - len(e) + 1) for e in encoded])
        train_logits = model({"images": pixels, "decoder_input_ids": dec_in})
        loss, accuracy = model.masked_loss_and_accuracy(labels, train_logits)

    write_folder(out / "model", model, cfg, tokenizer_path, tokenizer)
    expected = {
        "pixels": pixels[:, 0].contiguous(),
        "encoder_hidden_states": memory.contiguous(),
        "prefix_ids": prefix.to(torch.int32).contiguous(),
        "prefix_logits": prefix_logits.contiguous(),
        "greedy_ids": ids.to(torch.int32).contiguous(),
        "train_decoder_input_ids": dec_in.to(torch.int32).contiguous(),
        "train_labels": labels.to(torch.int32).contiguous(),
        "train_logits": train_logits.contiguous(),
        "train_loss": loss.reshape(1).contiguous(),
    }
    save_file(expected, str(out / "expected.safetensors"))
    summary = {
        "images": [p.name for p in paths],
        "greedy_texts": [tokenizer.decode(r.tolist()) for r in ids],
        "beam3_ids": beam,
        "beam3_texts": [tokenizer.decode(r) for r in beam],
        "train_texts": texts,
        "train_loss": loss.item(),
        "train_token_accuracy": accuracy.item(),
        "seed": seed,
        "torch": torch.__version__,
    }
    (out / "expected.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(summary, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ["convert", "fixture"]:
        p = sub.add_parser(name)
        p.add_argument("--package", required=True, help="folder holding latex_ocr_junia/ (or the package folder)")
        p.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    {"convert": convert, "fixture": fixture}[args.command](args)


if __name__ == "__main__":
    main()
