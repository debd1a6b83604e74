#!/usr/bin/env python3
"""Engine benchmark: ocrtune's Swift API vs its peers, measured in the same run.

- matmul_gflops (fp32 1024^3 through the Swift API) vs numpy_gflops (numpy, same machine).
- transformer step (12 layers, 256 wide, batch 8x128, forward+backward) through the Swift
  API vs the same graph through MLX's Python API (pip mlx 0.32.4 on the same libmlx).

Writes bench/results/engine.json. Usage: python3 bench/engine.py [--steps N]
"""
import argparse, json, os, platform, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".deps", "python"))
sys.path.insert(1, os.path.join(ROOT, ".deps", "bench"))

# PyTorch (the depthwise-block peer) is optional: ~5 GB, so it is not installed by `make bench`.
# Point OCRTUNE_TORCH_SITE at a site-packages folder that has it.
if os.environ.get("OCRTUNE_TORCH_SITE"):
    sys.path.append(os.environ["OCRTUNE_TORCH_SITE"])
try:
    import torch  # noqa: E402
except ImportError:
    torch = None

import numpy as np  # noqa: E402
import mlx.core as mx  # noqa: E402
import mlx.nn as nn  # noqa: E402


def numpy_gflops():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(20):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * 1024**3 / statistics.median(times) / 1e9


def gelu(x):
    return x * (1 + mx.erf(x * (1 / 2**0.5))) * 0.5


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def __call__(self, x):
        b, l, heads = x.shape[0], x.shape[1], 4
        h = self.ln1(x)
        split = lambda t: t.reshape(b, l, heads, -1).transpose(0, 2, 1, 3)
        a = mx.fast.scaled_dot_product_attention(split(self.q(h)), split(self.k(h)), split(self.v(h)), scale=0.125)
        y = x + self.o(a.transpose(0, 2, 1, 3).reshape(b, l, -1))
        return y + self.fc2(gelu(self.fc1(self.ln2(y))))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [Block(256) for _ in range(12)]
        self.norm = nn.LayerNorm(256)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


def python_step_ms(steps):
    mx.random.seed(0)
    model = Transformer()
    x = mx.random.normal((8, 128, 256), key=mx.random.key(3))
    mx.eval(model.parameters(), x)
    loss_and_grad = nn.value_and_grad(model, lambda m: (m(x) ** 2).mean())
    times = []
    for i in range(steps + 3):
        t = time.perf_counter()
        loss, grads = loss_and_grad(model)
        mx.eval(loss, grads)
        if i >= 3:
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def torch_block_ms(steps):
    """The depthwise 3x3 + pointwise block of EngineBench in PyTorch (NCHW), forward+backward."""
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    x = torch.randn(16, 64, 24, 160, requires_grad=True)
    dw = (torch.randn(64, 1, 3, 3) * 0.1).requires_grad_(True)
    pw = (torch.randn(64, 64, 1, 1) * 0.1).requires_grad_(True)
    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        h = torch.nn.functional.conv2d(x, dw, padding=1, groups=64)
        loss = (torch.nn.functional.conv2d(h, pw) ** 2).mean()
        loss.backward()
        x.grad = dw.grad = pw.grad = None
        if i >= 2:
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each side; medians are reported")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "EngineBench"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "engine.json"))
    args = parser.parse_args()

    # Interleave the sides so that both see the same machine state.
    swift_runs, np_runs, py_runs, torch_runs = [], [], [], []
    for _ in range(args.rounds):
        out = subprocess.run([args.binary, str(args.steps)], check=True, capture_output=True, text=True).stdout
        swift_runs.append(json.loads(out))
        np_runs.append(numpy_gflops())
        py_runs.append(python_step_ms(args.steps))
        if torch is not None:
            torch_runs.append(torch_block_ms(args.steps))
    swift = dict(swift_runs[0])
    swift["matmul_gflops"] = statistics.median(r["matmul_gflops"] for r in swift_runs)
    swift["transformer_step_ms"] = statistics.median(r["transformer_step_ms"] for r in swift_runs)
    for key in ["depthwise_block_ms_ocrtune", "depthwise_block_ms_mlx"]:
        swift[key] = statistics.median(r[key] for r in swift_runs)
    torch_ms = statistics.median(torch_runs) if torch_runs else None
    np_gflops = statistics.median(np_runs)
    py_ms = statistics.median(py_runs)

    result = {
        "benchmark": "engine",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "processor": platform.machine()},
        "mlx_version": swift["mlx_version"],
        "blas": swift["blas"],
        "matmul_gflops": round(swift["matmul_gflops"], 2),
        "numpy_gflops": round(np_gflops, 2),
        "matmul_vs_numpy_ratio": round(swift["matmul_gflops"] / np_gflops, 3),
        "matmul_vs_numpy_target": 0.8,
        "swift_step_ms": round(swift["transformer_step_ms"], 2),
        "python_step_ms": round(py_ms, 2),
        "swift_vs_python_step_ratio": round(py_ms / swift["transformer_step_ms"], 3),
        "swift_vs_python_step_target": 0.95,
        "depthwise_block_ms_ocrtune": round(swift["depthwise_block_ms_ocrtune"], 2),
        "depthwise_block_ms_mlx_conv2d": round(swift["depthwise_block_ms_mlx"], 2),
        "depthwise_block_ms_pytorch": round(torch_ms, 2) if torch_ms else None,
        "depthwise_block_ocrtune_vs_mlx_ratio": round(swift["depthwise_block_ms_mlx"] / swift["depthwise_block_ms_ocrtune"], 3),
        "depthwise_block_ocrtune_vs_pytorch_ratio": round(torch_ms / swift["depthwise_block_ms_ocrtune"], 3) if torch_ms else None,
        "pytorch_version": torch.__version__ if torch is not None else None,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "notes": "ratios: higher is better for ocrtune (peer time / ocrtune time); the depthwise block is 16x64x24x160 depthwise 3x3 + pointwise, forward+backward",
    }
    result["targets_met"] = bool(result["matmul_vs_numpy_ratio"] >= 0.8 and result["swift_vs_python_step_ratio"] >= 0.95)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
