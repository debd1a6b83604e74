#!/usr/bin/env python3
"""PyTorch peer of `ocrtune train --model LATEX --method full` (run by bench/transformers_cpu.py with
a python that has torch): full fine-tuning steps of latex-ocr-junia's own model (the package's
LatexOCRModel and checkpoint, encoder trainable), batch B of the same formula images (the
package's preprocessing) and texts, teacher forcing padded to the batch's longest sequence (as
ocrtune pads; the package's own loader pads every sequence to max_length − 1), the package's
masked cross-entropy, AdamW (lr 1e-4, weight decay 0.01), clipping at 1.0, dropout as in training.

Prints one JSON line: steps/s over the steps after the warm-up, seconds per step (median), the
losses, the peak RSS.

  latex_torch_peer.py --package UNPACKED_WHEEL --listing DATA_JSONL_DIR [--batch 8] [--steps 6] [--warmup 2] [--threads 2]
"""
import argparse
import json
import os
import sys

from torch_train_loop import add_run_arguments, timed_steps, training_rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", required=True)
    add_run_arguments(ap, batch=8, steps=6, warmup=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sys.path.insert(0, args.package)
    from latex_ocr_junia import data, model as M, tokenizer as T, utils

    assets = os.path.join(args.package, "latex_ocr_junia", "assets")
    config = utils.load_model_config(os.path.join(assets, "model_config.json"))
    tok = T.LatexTokenizer.load(os.path.join(assets, "tokenizer.json"))
    net = M.build_model(config)
    M.load_checkpoint(net, os.path.join(assets, "best.pt"))
    net.train()
    rows = training_rows(args.listing)
    images = torch.stack([data.load_and_preprocess_image(p, config.image_height, config.image_width) for p, _ in rows])
    encoded = [tok.encode(t, max_length=config.max_length) for _, t in rows]
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.01)

    def batch(i):
        idx = [(i * args.batch + j) % len(rows) for j in range(args.batch)]
        seqs = [encoded[k] for k in idx]
        length = max(len(s) for s in seqs) - 1
        dec = torch.full((len(idx), length), tok.pad_id, dtype=torch.long)
        lab = torch.full((len(idx), length), tok.pad_id, dtype=torch.long)
        for r, s in enumerate(seqs):
            dec[r, : len(s) - 1] = torch.tensor(s[:-1])
            lab[r, : len(s) - 1] = torch.tensor(s[1:])
        return images[idx], dec, lab

    def loss_of(inputs):
        x, dec, lab = inputs
        logits = net({"images": x, "decoder_input_ids": dec})
        return net.masked_loss_and_accuracy(lab, logits)[0]

    print(json.dumps(timed_steps(net, optimizer, args.steps, args.warmup, args.threads, batch, loss_of)))


if __name__ == "__main__":
    main()
