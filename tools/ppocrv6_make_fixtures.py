#!/usr/bin/env python3
"""Makes the committed fixtures of Tests/OCRModelsTests/Fixtures/ppocrv6 (small, < 3 MB in all).

Tiny random-weight PP-OCRv6 models built with Hugging Face transformers 5.23 (their config
fields and parameter names), BatchNorm statistics randomized so that folding matters:

1. tiny-rec.onnx: `PPOCRV6SmallRecForTextRecognition` (PP-LCNetV4 large stem, 4 stages, SVTR
   neck with residual fusion, 12 classes) exported by torch.onnx at opset 11 in eval mode
   (BatchNorms folded into the convolutions, as paddle2onnx's exports are), the dictionary
   embedded as the `character` metadata entry; tiny-rec-expected.safetensors holds a fixed
   input (NHWC) and transformers' probabilities for it.
2. tiny-det.onnx: `PPOCRV6SmallDetForObjectDetection` likewise, with a fixed input and
   transformers' probability map (tiny-det-expected.safetensors).

Usage: /work/torchvenv/bin/python tools/ppocrv6_make_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppocr_common as pc  # noqa: E402

OUT = os.path.join(pc.ROOT, "Tests", "OCRModelsTests", "Fixtures", "ppocrv6")
CHARS = list("0123456789")

TINY_BACKBONE = dict(
    stem_channels=[3, 8, 16],
    block_configs=[
        [[3, 16, 16, 1, True]],
        [[3, 16, 16, 1, False]],
        [[3, 16, 32, [2, 1], False], [3, 32, 32, 1, True]],
        [[3, 32, 48, [2, 1], False], [3, 48, 48, 1, True]],
    ],
)


def randomize_batch_norms(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                c = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))


def export(model, x, path, dynamic_axes, metadata=None):
    import onnx

    torch.onnx.export(
        model, (x,), path, input_names=["x"], output_names=["probabilities"], opset_version=11,
        dynamic_axes=dynamic_axes, do_constant_folding=True, dynamo=False)
    m = onnx.load(path)
    for key, value in (metadata or {}).items():
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(m, path)


class Probabilities(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x).last_hidden_state


def make_rec(expected):
    from transformers import PPOCRV6SmallRecConfig, PPOCRV6SmallRecForTextRecognition

    torch.manual_seed(6)
    config = PPOCRV6SmallRecConfig(
        backbone_config=dict(model_type="pp_lcnet_v4", **TINY_BACKBONE), hidden_size=32, num_attention_heads=4,
        depth=2, head_out_channels=len(CHARS) + 2)
    config._attn_implementation = "eager"
    model = PPOCRV6SmallRecForTextRecognition(config).eval()
    randomize_batch_norms(model, 6)
    x = torch.from_numpy(np.random.default_rng(7).uniform(-1, 1, (2, 3, 48, 64)).astype(np.float32))
    with torch.no_grad():
        probs = model(x).last_hidden_state.numpy()
    path = os.path.join(OUT, "tiny-rec.onnx")
    export(Probabilities(model), x, path, {"x": {0: "N", 3: "W"}, "probabilities": {0: "N", 1: "T"}},
           {"character": "\n".join(CHARS)})
    keys = sorted(k for k in model.state_dict() if not k.endswith("num_batches_tracked"))
    with open(os.path.join(OUT, "tiny-rec-keys.json"), "w") as f:
        json.dump(keys, f, indent=0)
    expected["rec.pixels"] = x.numpy().transpose(0, 2, 3, 1).copy()
    expected["rec.probabilities"] = probs
    print(f"tiny-rec.onnx: {os.path.getsize(path)} bytes, output {probs.shape}")


def make_det(expected):
    from transformers import PPOCRV6SmallDetConfig, PPOCRV6SmallDetForObjectDetection

    torch.manual_seed(7)
    backbone = dict(
        model_type="pp_lcnet_v4", stem_channels=[3, 8, 16],
        block_configs=[
            [[3, 16, 16, 1, True], [3, 16, 16, 1, False]],
            [[3, 16, 24, 2, False], [3, 24, 24, 1, True]],
            [[3, 24, 32, 2, False], [3, 32, 32, 1, False]],
            [[3, 32, 48, 2, False], [3, 48, 48, 1, True]],
        ],
        out_features=["stage1", "stage2", "stage3", "stage4"])
    config = PPOCRV6SmallDetConfig(
        backbone_config=backbone, neck_out_channels=16, layer_list_out_channels=[16, 24, 32, 48], reduction=4)
    model = PPOCRV6SmallDetForObjectDetection(config).eval()
    randomize_batch_norms(model, 7)
    x = torch.from_numpy(np.random.default_rng(8).uniform(-1, 1, (1, 3, 64, 96)).astype(np.float32))
    with torch.no_grad():
        probs = model(x).last_hidden_state.numpy()
    path = os.path.join(OUT, "tiny-det.onnx")
    export(Probabilities(model), x, path, {"x": {0: "N", 2: "H", 3: "W"}, "probabilities": {0: "N", 2: "H", 3: "W"}})
    keys = sorted(k for k in model.state_dict() if not k.endswith("num_batches_tracked"))
    with open(os.path.join(OUT, "tiny-det-keys.json"), "w") as f:
        json.dump(keys, f, indent=0)
    expected["det.pixels"] = x.numpy().transpose(0, 2, 3, 1).copy()
    expected["det.probabilities"] = probs.transpose(0, 2, 3, 1).copy()
    print(f"tiny-det.onnx: {os.path.getsize(path)} bytes, output {probs.shape}")


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    make_rec(expected)
    make_det(expected)
    pc.write_safetensors(os.path.join(OUT, "tiny-expected.safetensors"), expected)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"fixtures: {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
