#!/usr/bin/env python3
"""TrOCR-base-shaped model for bench/transformers_cpu.py, and its PyTorch peer (transformers).

`make`: a random VisionEncoderDecoderModel shaped like microsoft/trocr-base (BEiT-base encoder:
384×384, 16-pixel patches = 576 + 1 tokens, 12 layers of width 768, per-layer relative position
bias, layer scale, stochastic depth 0.1; TrOCR decoder: 12 layers of width 1,024, 16 heads, FFN
4,096, vocabulary 50,265, learned positions, dropout 0.1), saved as a Hugging Face folder that
`ocrtune train` reads. The tokenizer is the tiny TrOCR fixture's byte-level BPE (its 320 ids lie
inside the 50,265-row embedding and output projection, which both sides compute in full).

`train`: full fine-tuning steps of that model in transformers (fp32, threads = cores), batch B of
the same images (resized to 384×384 bilinear, normalized with mean = std = 0.5, as the
preprocessor config says; done before timing) and texts, labels padded to the batch's longest with
−100, AdamW (lr 5e-5, weight decay 0.01), clipping at 1.0, dropout and stochastic depth as in
training. Prints one JSON line: steps/s after the warm-up, seconds per step (median), the losses,
the peak RSS.

  trocr_torch_peer.py make --out DIR --tokenizer TOKENIZER_JSON
  trocr_torch_peer.py train --model DIR --listing DATA_JSONL_DIR [--batch 4] [--steps 5] [--warmup 1] [--threads 2]
"""
import argparse
import json
import os
import shutil

from torch_train_loop import add_run_arguments, timed_steps, training_rows


def make(args):
    import torch
    from transformers import BeitConfig, TrOCRConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel

    enc = BeitConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                     image_size=384, patch_size=16, hidden_act="gelu", layer_norm_eps=1e-12,
                     use_absolute_position_embeddings=False, use_relative_position_bias=True,
                     use_shared_relative_position_bias=False, layer_scale_init_value=0.1, drop_path_rate=0.1,
                     use_mean_pooling=False, initializer_range=0.02)
    dec = TrOCRConfig(vocab_size=50265, d_model=1024, decoder_layers=12, decoder_attention_heads=16,
                      decoder_ffn_dim=4096, max_position_embeddings=512, activation_function="gelu",
                      use_learned_position_embeddings=True, scale_embedding=False, layernorm_embedding=True,
                      dropout=0.1, attention_dropout=0.0, activation_dropout=0.0)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id, cfg.pad_token_id, cfg.eos_token_id = 2, 1, 2
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(cfg)
    model.generation_config.decoder_start_token_id = 2
    model.generation_config.pad_token_id = 1
    model.generation_config.eos_token_id = 2
    model.generation_config.bos_token_id = 0
    model.save_pretrained(args.out)
    shutil.copy(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5] * 3,
                   "image_std": [0.5] * 3, "image_processor_type": "ViTImageProcessor", "resample": 2,
                   "rescale_factor": 1 / 255, "size": {"height": 384, "width": 384}}, f, indent=2)
    print(json.dumps({"parameters": sum(p.numel() for p in model.parameters())}))


def train(args):
    import numpy as np
    import torch
    from PIL import Image
    from tokenizers import Tokenizer
    from transformers import VisionEncoderDecoderModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = VisionEncoderDecoderModel.from_pretrained(args.model)
    net.train()
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    rows = training_rows(args.listing)

    def pixels(path):
        img = Image.open(path).convert("RGB").resize((384, 384), Image.BILINEAR)
        return torch.from_numpy((np.asarray(img, dtype=np.float32) / 255 - 0.5) / 0.5).permute(2, 0, 1)

    images = torch.stack([pixels(p) for p, _ in rows])
    encoded = [tok.encode(t).ids for _, t in rows]
    optimizer = torch.optim.AdamW(net.parameters(), lr=5e-5, weight_decay=0.01)

    def batch(i):
        idx = [(i * args.batch + j) % len(rows) for j in range(args.batch)]
        seqs = [encoded[k] for k in idx]
        labels = torch.full((len(idx), max(len(s) for s in seqs)), -100, dtype=torch.long)
        for r, s in enumerate(seqs):
            labels[r, : len(s)] = torch.tensor(s)
        return images[idx], labels

    print(json.dumps(timed_steps(net, optimizer, args.steps, args.warmup, args.threads, batch,
                                 lambda inputs: net(pixel_values=inputs[0], labels=inputs[1]).loss)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--tokenizer", required=True)
    t = sub.add_parser("train")
    t.add_argument("--model", required=True)
    add_run_arguments(t, batch=4, steps=5, warmup=1)
    args = ap.parse_args()
    make(args) if args.command == "make" else train(args)


if __name__ == "__main__":
    main()
