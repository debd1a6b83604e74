#!/usr/bin/env python3
"""Makes Tests/MLXNNTests/Fixtures/ctc_torch.json: random CTC problems with the loss and its
gradient from torch.nn.functional.ctc_loss (reduction "none" and "mean", blank 0).

Usage: python3 tools/make_ctc_fixtures.py OUT.json   (needs torch; dev-only, not run by make test)
"""
import json, sys

import torch

torch.manual_seed(0)
cases = []
for case, (b, t, c, l) in enumerate([(3, 12, 6, 4), (2, 20, 11, 7), (4, 8, 5, 3), (1, 30, 30, 12)]):
    logits = torch.randn(b, t, c, dtype=torch.float64)
    target_lengths = torch.randint(0, l + 1, (b,))
    target_lengths[0] = l
    input_lengths = torch.randint(max(1, 2 * l + 1), t + 1, (b,))
    input_lengths[0] = t
    targets = torch.randint(1, c, (b, l))
    # Repeated labels in the first sample exercise the blank-between rule.
    targets[0, 1] = targets[0, 0]
    result = {"logits": logits.flatten().tolist(), "shape": [b, t, c], "targets": targets.flatten().tolist(),
              "max_target": l, "input_lengths": input_lengths.tolist(), "target_lengths": target_lengths.tolist()}
    for reduction in ["none", "mean"]:
        x = logits.clone().requires_grad_(True)
        log_probs = torch.log_softmax(x, dim=-1).transpose(0, 1)  # [T, B, C]
        loss = torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
                                            blank=0, reduction=reduction, zero_infinity=False)
        loss.sum().backward()
        result[f"loss_{reduction}"] = loss.detach().flatten().tolist()
        result[f"grad_{reduction}"] = x.grad.flatten().tolist()
    cases.append(result)
with open(sys.argv[1], "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)
print("wrote", sys.argv[1], len(cases), "cases")
