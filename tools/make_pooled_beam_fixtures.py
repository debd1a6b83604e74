#!/usr/bin/env python3
"""Expected ids of latex-ocr-junia's own beam search and greedy decoding on scripted logits.

The package's `LatexOCRModel._beam_search_one` and `_greedy_generate` run with a stub whose
`decode` returns a fixed random table's row for (position, last token), so the Swift test can
replay the same logits through an IncrementalDecoder and compare
`GenerationOptions.BeamStrategy.pooled` (and suppressed tokens) with the package exactly: per
case with its own beam count and length penalty, and with beam 3 / penalty 0.6 for all (the
Swift side runs those as one batch).
Writes Tests/OCRModelsTests/Fixtures/generation/pooled-beam.json.

Run: OMP_NUM_THREADS=1 /tmp/torchvenv/bin/python tools/make_pooled_beam_fixtures.py --package DIR
(DIR holds latex_ocr_junia/, the unpacked wheel; torch, numpy.)
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "OCRModelsTests", "Fixtures",
                   "generation", "pooled-beam.json")
VOCAB, MAX_LENGTH, BOS, EOS, PAD = 7, 9, 1, 2, 0


class Scripted:
    """`decode(ids [B, L], states)` → logits [B, L, V]: the last position's row is
    table[L − 1, ids[:, −1]] (earlier positions are unused by the package's decoding)."""

    def __init__(self, table):
        self.table = table

    def decode(self, ids, states):
        last = self.table[ids.shape[1] - 1, ids[:, -1]]  # [B, V]
        return last.unsqueeze(1).expand(ids.shape[0], ids.shape[1], VOCAB).clone()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.package).resolve()))
    from latex_ocr_junia.model import LatexOCRModel

    g = torch.Generator().manual_seed(17)
    cases = []
    for i in range(8):
        table = 1.5 * torch.randn(MAX_LENGTH, VOCAB, VOCAB, generator=g)
        table[:, :, EOS] += 0.5 * (i % 3)  # more or fewer finished beams
        table[:, :, PAD] += 2.0  # often the best raw logit: suppression matters
        stub = Scripted(table)
        beams, penalty = [3, 3, 4, 2, 3, 5, 3, 4][i], [0.6, 1.0, 0.6, 2.0, 0.0, 0.6, -0.5, 0.3][i]
        states = torch.zeros(1, 1, 1)
        beam = LatexOCRModel._beam_search_one(stub, states, bos_token_id=BOS, eos_token_id=EOS, max_length=MAX_LENGTH,
                                              beam_size=beams, length_penalty=penalty, no_repeat_ngram_size=0,
                                              bad_token_ids=[PAD, BOS])
        beam3 = LatexOCRModel._beam_search_one(stub, states, bos_token_id=BOS, eos_token_id=EOS, max_length=MAX_LENGTH,
                                               beam_size=3, length_penalty=0.6, no_repeat_ngram_size=0,
                                               bad_token_ids=[PAD, BOS])
        greedy = LatexOCRModel._greedy_generate(stub, encoder_hidden_states=states, batch_size=1, bos_token_id=BOS,
                                                eos_token_id=EOS, max_length=MAX_LENGTH, no_repeat_ngram_size=0,
                                                bad_token_ids=[PAD, BOS])
        cases.append({"table": table.flatten().tolist(), "num_beams": beams, "length_penalty": penalty,
                      "beam_ids": beam[1:], "beam3_ids": beam3[1:],
                      "greedy_ids": [int(t) for t in greedy[0].tolist()[1:]]})
        print(i, beam, greedy[0].tolist(), file=sys.stderr)
    with open(OUT, "w") as f:
        json.dump({"vocab": VOCAB, "max_length": MAX_LENGTH, "bos": BOS, "eos": EOS, "pad": PAD, "cases": cases}, f)


if __name__ == "__main__":
    main()
