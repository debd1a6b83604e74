#!/usr/bin/env python3
"""A tiny Qwen3-VL that llama.cpp's qwen3vl graph runs with batched prompts, for
tools/export_proof.sh (written outside the repo, not a test fixture).

llama.cpp adds deepstack layer k's features after language layer k, also after the last one, where
it has already kept only the rows whose logits are asked for: a prompt batch aborts
(GGML_ASSERT ggml_can_repeat) unless the model has more language layers than deepstack layers.
Tests/OCRModelsTests/Fixtures/qwen3_vl-tiny has 2 of each; this is that fixture with a third
language layer: every fixture weight kept, the new layer as transformers initializes it
(seed 0), its tokenizer, processor and chat template files.

    OMP_NUM_THREADS=1 /work/torchvenv/bin/python tools/make_qwen3_vl_gguf_probe.py OUT_DIR
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

FIXTURE = Path(__file__).resolve().parent.parent / "Tests" / "OCRModelsTests" / "Fixtures" / "qwen3_vl-tiny"


def main(out: str) -> None:
    config = json.loads((FIXTURE / "config.json").read_text())
    config["text_config"]["num_hidden_layers"] = 3
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration(Qwen3VLConfig(**config)).eval()
    fixture = Qwen3VLForConditionalGeneration.from_pretrained(FIXTURE).state_dict()
    missing, unexpected = model.load_state_dict(fixture, strict=False)
    assert not unexpected and all(".layers.2." in k for k in missing), (missing, unexpected)
    model.save_pretrained(out)
    for name in ["tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "chat_template.jinja"]:
        shutil.copy(FIXTURE / name, Path(out) / name)


if __name__ == "__main__":
    main(sys.argv[1])
