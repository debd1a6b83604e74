"""The timed training loop the PyTorch peers of bench/transformers_cpu.py share (latex_torch_peer.py,
trocr_torch_peer.py): forward, backward, gradient clipping at 1.0 and the optimizer step timed per
step, the warm-up steps left out of the rate; returns the JSON-ready result."""
import json
import os
import resource
import time


def training_rows(listing):
    """(image path, text) of the listing's train split (data.jsonl rows as `data export` writes them)."""
    rows = []
    with open(os.path.join(listing, "data.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if row.get("split") == "train":
                rows.append((os.path.join(listing, row["image"]), row["text"]))
    return rows


def add_run_arguments(parser, batch, steps, warmup):
    """--listing (data.jsonl + images), --batch, --steps, --warmup (untimed first steps), --threads."""
    parser.add_argument("--listing", required=True)
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--warmup", type=int, default=warmup)
    parser.add_argument("--threads", type=int, default=2)


def timed_steps(net, optimizer, steps, warmup, threads, batch, loss_of):
    """batch(step) -> inputs (prepared before the clock); loss_of(inputs) -> the scalar loss tensor."""
    import torch

    times, losses = [], []
    for step in range(steps):
        inputs = batch(step)
        start = time.perf_counter()
        loss = loss_of(inputs)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - start)
        losses.append(float(loss.detach()))
    steady = sorted(times[warmup:]) or times
    return {
        "steps_per_s": len(times[warmup:]) / max(sum(times[warmup:]), 1e-9),
        "seconds_per_step_median": steady[len(steady) // 2],
        "losses": losses,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__, "threads": threads,
        "parameters": sum(p.numel() for p in net.parameters()),
    }
