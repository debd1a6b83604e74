#!/usr/bin/env python3
"""A tiny random DeepSeek-OCR 2 that llama.cpp's mmproj graph accepts, for tools/export_proof.sh
(written outside the repo, not a test fixture).

clip.cpp hard-codes SAM ViT-B's global-attention layers (2, 5, 8, 11) and the query encoder's
rope theta (1e6), so the 2-layer SAM of Tests/OCRModelsTests/Fixtures/deepseek_ocr2-tiny cannot run
there: this is that fixture's config with a 12-layer SAM (global layers 2, 5, 8, 11) and rope theta
1e6, random weights (normal, std 0.05, seed 0), its tokenizer and processor files.

    OMP_NUM_THREADS=1 /work/torchvenv/bin/python tools/make_deepseek_gguf_probe.py OUT_DIR
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import DeepseekOcr2Config, DeepseekOcr2ForConditionalGeneration

FIXTURE = Path(__file__).resolve().parent.parent / "Tests" / "OCRModelsTests" / "Fixtures" / "deepseek_ocr2-tiny"


def main(out: str) -> None:
    config = json.loads((FIXTURE / "config.json").read_text())
    config["vision_config"]["sam_config"].update(num_hidden_layers=12, global_attn_indexes=[2, 5, 8, 11])
    config["vision_config"]["encoder_config"]["rope_parameters"]["rope_theta"] = 1000000.0
    torch.manual_seed(0)
    model = DeepseekOcr2ForConditionalGeneration(DeepseekOcr2Config(**config)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    model.save_pretrained(out)  # DeepSeek's original key names
    for name in ["tokenizer.json", "tokenizer_config.json", "processor_config.json"]:
        shutil.copy(FIXTURE / name, Path(out) / name)


if __name__ == "__main__":
    main(sys.argv[1])
