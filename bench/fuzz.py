#!/usr/bin/env python3
"""Fuzzing run: each libFuzzer target of Fuzz/ (built by `make fuzz-build` into .build/fuzz/) runs
from its committed seed corpus (Fuzz/corpus/TARGET) until it has executed --runs inputs or spent
--max-time seconds, under AddressSanitizer (+ UBSan for C), a 10 s hang limit and a 2 GiB RSS cap.

Per target, bench/results/fuzz.json records: the command, runs executed, seconds (wall and CPU),
exec/s (per wall second as libFuzzer counts them, and per CPU second), edges covered, peak RSS, and
the findings (crashes, hangs > 10 s, out-of-memory above the cap, leaks), each with its artifact path
under .build/fuzz/artifacts/TARGET/; each hang's input is run again alone and its CPU time recorded
(the 10 s limit is wall-clock time, which a starved process can pass on a busy machine). libFuzzer stops a target at its
first finding, so a count is 0 or 1 per run. The machine (2 shared cores) is noisy: exec/s are
indicative, not a benchmark.

Usage: python3 bench/fuzz.py [--runs 1000000] [--max-time 600] [TARGET ...]
"""
import argparse, datetime, json, os, platform, re, resource, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, ".build", "fuzz")
SEEDS = os.path.join(ROOT, "Fuzz", "corpus")
RESULT = os.path.join(ROOT, "bench", "results", "fuzz.json")

# What each target feeds and how large an input may grow.
TARGETS = {
    "image_png": ("cic_probe + cic_decode_rgb on PNG bytes (libpng)", 16384),
    "image_jpeg": ("cic_probe + cic_decode_rgb on JPEG bytes (libjpeg-turbo)", 16384),
    "image_webp": ("cic_probe + cic_decode_rgb on WebP bytes (libwebp)", 16384),
    "image_tiff": ("cic_probe + cic_decode_rgb on TIFF bytes (libtiff)", 16384),
    "image_gif": ("cic_probe + cic_decode_rgb on GIF bytes (giflib)", 16384),
    "image_bmp": ("cic_probe + cic_decode_rgb on BMP bytes (stb_image)", 16384),
    "safetensors": ("SafeTensorsFile(bytes:): length prefix, JSON header, tensor table, tensor bytes", 8192),
    "tokenizer": ("tokenizer.json through Tokenizer(json:config:), then encode/tokenize/decode", 16384),
    "chat_template": ("Jinja chat template parse + render over fixed messages", 8192),
    "toml": ("TOML.decode (ocrtune train --config)", 4096),
    "model_config": ("each family's config.json / processor config types (PP-OCR, Qwen-VL, DeepSeek-OCR, latex-ocr-junia, "
                     "TrOCR): decode, derived sizes, encode/decode round trip", 8192),
    "dataset": ("data build's JSON(L) importer (plain, document, --crop-lines) and listing importer", 8192),
    "parquet": ("Hugging Face Parquet shard: ParquetImporter, then every cell through ParquetBatch (libarrow/libparquet "
                "uninstrumented)", 8192),
    "chat_request": ("ChatCompletionRequest JSON decoding (POST /v1/chat/completions body)", 8192),
    "onnx": ("ONNX import: ONNXGraph(serialized:) (swift-protobuf decoding, initializers, Constant nodes, shape folding), "
             "then the PP-OCR importers' role finding (GraphRoles, recognizer and detector settings)", 16384),
    "data_url": ("ImagePayload: a chat image_url's data: URL and PaddleX's bare base64 file, to bytes under a 4 KB cap", 8192),
}


def parse(output):
    stat = lambda key: (lambda m: float(m.group(1)) if m else None)(re.search(rf"stat::{key}:\s+(\d+)", output))
    cov = re.findall(r"cov: (\d+) ft: (\d+)", output)
    return {
        "runs": int(stat("number_of_executed_units") or 0),
        "exec_per_s": int(stat("average_exec_per_sec") or 0),
        "peak_rss_mb": int(stat("peak_rss_mb") or 0),
        "edges": int(cov[-1][0]) if cov else None,
        "features": int(cov[-1][1]) if cov else None,
    }


def run(target, runs, max_time):
    binary = os.path.join(BUILD, target)
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: run `make fuzz-build`")
    seeds = os.path.join(SEEDS, target)
    work = os.path.join(BUILD, "corpus", target)
    artifacts = os.path.join(BUILD, "artifacts", target)
    shutil.rmtree(artifacts, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    description, max_len = TARGETS[target]
    command = [binary, f"-runs={runs}", f"-max_total_time={max_time}", "-timeout=10", "-rss_limit_mb=2048",
               f"-max_len={max_len}", "-print_final_stats=1", "-seed=1", f"-artifact_prefix={artifacts}/", work, seeds]
    # Swift's own crash handler reads the crashed process's memory and trips ASan: left to ASan.
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1", SWIFT_BACKTRACE="enable=no",
               LSAN_OPTIONS=f"suppressions={os.path.join(ROOT, 'Fuzz', 'lsan.supp')}:print_suppressions=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    started, cpu_before = time.time(), children_cpu()
    proc = subprocess.run(["nice", "-n", "10"] + command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace")
    seconds, cpu_seconds = time.time() - started, children_cpu() - cpu_before
    with open(os.path.join(BUILD, f"{target}.log"), "w") as log:
        log.write(proc.stdout)
    found = sorted(os.listdir(artifacts))
    kinds = lambda prefix: [os.path.relpath(os.path.join(artifacts, f), ROOT) for f in found if f.startswith(prefix)]
    row = {"target": target, "feeds": description,
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "command": " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in command),
           "max_time_s": max_time, "exit_status": proc.returncode, "seconds": round(seconds, 1),
           "cpu_seconds": round(cpu_seconds, 1)}
    row.update(parse(proc.stdout))
    if cpu_seconds > 0:
        row["exec_per_cpu_s"] = int(row["runs"] / cpu_seconds)
    row.update({"crashes": kinds("crash-"), "hangs": kinds("timeout-"), "ooms": kinds("oom-"),
                "leaks": kinds("leak-"), "corpus_files": len(os.listdir(work)),
                "reached_runs": row["runs"] >= runs})
    if proc.returncode != 0 and not any(row[k] for k in ("crashes", "hangs", "ooms", "leaks")):
        row["error_tail"] = proc.stdout[-2000:]
    # libFuzzer's -timeout is wall-clock time: on a shared machine an input can pass it while the
    # process waits for a CPU. Each hang's input is run again alone and its CPU time recorded.
    row["hang_reruns"] = [rerun_cpu(binary, path, env) for path in row["hangs"]]
    return row


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rerun_cpu(binary, artifact, env):
    """The artifact run once more alone (no -timeout): its CPU seconds and wall seconds."""
    started, cpu_before = time.time(), children_cpu()
    try:
        proc = subprocess.run([binary, "-timeout=0", os.path.join(ROOT, artifact)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = "killed after 600 s"
    return {"artifact": artifact, "exit_status": status, "cpu_seconds": round(children_cpu() - cpu_before, 2),
            "seconds": round(time.time() - started, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--max-time", type=int, default=600, help="seconds per target")
    ap.add_argument("--output", default=RESULT)
    ap.add_argument("targets", nargs="*", default=list(TARGETS))
    args = ap.parse_args()
    previous, args.notes = {}, []
    if os.path.exists(args.output):  # a partial rerun keeps the other targets' rows and the notes
        with open(args.output) as f:
            old = json.load(f)
        previous = {r["target"]: r for r in old.get("targets", [])}
        args.notes = old.get("notes", [])
    for target in args.targets:
        row = run(target, args.runs, args.max_time)
        previous[target] = row
        findings = sum(len(row[k]) for k in ("crashes", "hangs", "ooms", "leaks"))
        print(f"{target:14s} runs {row['runs']:>9,d}  {row['exec_per_s']:>7,d}/s  {row['seconds']:>6.0f} s  "
              f"edges {row['edges']}  findings {findings}", flush=True)
        write(args, previous)  # after each target, so that a cut-short run keeps what it measured


def write(args, previous):
    rows = [previous[t] for t in TARGETS if t in previous]
    result = {
        "what": "libFuzzer over each parser of untrusted input (make fuzz)",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other builds (exec/s are noisy)",
        "limits": {"runs": args.runs, "max_time_s": "per target (max_time_s)", "hang_s": 10, "rss_limit_mb": 2048,
                   "image_max_pixels": 1 << 22},
        "notes": args.notes or [
            "Image targets: ocrtune's shim (decode.c) is instrumented; Debian's libpng, libjpeg-turbo, libwebp, "
            "libtiff, giflib and stb_image are the same uninstrumented shared libraries the product links, so "
            "coverage guidance stops at the library boundary (edges count the shim only) and ASan sees the "
            "libraries' heap only through malloc/free.",
            "Swift targets compile the library's sources with the harness under the module's own name "
            "(swiftc -sanitize=fuzzer,address); UBSan is not available for Swift, whose own checks trap.",
            "Leaks inside swift-corelibs-foundation are suppressed (Fuzz/lsan.supp).",
            "reached_runs false: the target did not execute --runs inputs within --max-time.",
            "Each run resumes the working corpus of earlier runs (.build/fuzz/corpus); delete it to start from the seeds.",
        ],
        "targets": rows,
    }
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
