#!/usr/bin/env python3
"""The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (`make test-asan`).

Builds the test bundle into .build/asan (`swift build --sanitize=address` for every Swift, C and
C++ target, `-fsanitize=undefined` for the C and C++ ones: MLX shim, kernels, image codecs, Arrow
shim, rendering, text detection), runs `swift test --skip-build` on it and writes
bench/results/sanitizers.json: tests executed and failed, every sanitizer report (kind, first
frames), the suppressions in force, wall time and machine load.

libmlx.so (the mlx-cpu wheel), pyarrow's libarrow/libparquet, onnxruntime and Debian's codec
libraries are not instrumented: ASan still checks every access our code makes and every heap block
(malloc is intercepted process-wide), but not the libraries' own accesses.

ThreadSanitizer (`--tsan`, `make test-tsan`): tools/tsan/kernel_pool.cpp (the kernels' thread pool,
MLX not linked) and tools/tsan/kernels.cpp (the kernels through the shim on MLX's CPU stream), built
with clang -fsanitize=thread; the outcome is the result's "tsan" entry, the ASan run's are kept.

Usage: python3 bench/sanitizers.py [--skip-build] [--filter REGEX] [--keep-going] [--tsan]
  --filter      passed to `swift test --filter` (e.g. 'OCRSupportTests|SafeTensorsTests'); recorded
  --keep-going  UBSan reports print and the run goes on (default: the first report aborts, as in CI)
"""
import argparse, datetime, json, os, platform, re, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = ".build/asan"
RESULT = os.path.join(ROOT, "bench", "results", "sanitizers.json")
LSAN_SUPP = "Fuzz/lsan.supp"
SANITIZE = ["-c", "debug", "--build-path", BUILD, "--sanitize=address", "-Xcc", "-fsanitize=undefined",
            "-Xcxx", "-fsanitize=undefined"]
# The CLI too, instrumented the same way: LaunchTests and the live serving test run it.
BUILD_COMMANDS = [["swift", "build", "--product", product] + SANITIZE for product in ("ocrtunePackageTests", "ocrtune")]

# What earlier runs found, and what became of it (kept by hand, written into the result).
FINDINGS = [
    "2026-12-07, whole suite (565 tests): 0 AddressSanitizer and 0 UndefinedBehaviorSanitizer reports in ocrtune's "
    "Swift, C and C++ code; nothing to fix.",
    "LeakSanitizer's direct leaks were all the Swift runtime's encodings or third-party: weak-reference side tables "
    "(Foundation's FileHandle monitor and Process, XCTest's waiters), the boxes of OCRText's indirect enum "
    "PreTokenizer, fontconfig's caches; each is suppressed by name with its reason in Fuzz/lsan.supp.",
    "The first run failed 5 tests that start processes (data-parallel workers, ocrtune launch, ocrtune serve): "
    "LeakSanitizer's exit status 1 at a child's exit. Leaks now leave the exit status alone (exitcode=0) and every "
    "process's reports are read from its own log (ASAN_OPTIONS log_path).",
]


def load():
    return [round(x, 2) for x in os.getloadavg()]


def reports(text, source):
    """Each sanitizer report of one process's log: kind, headline, first stack frames. LeakSanitizer's
    indirect leaks are summed apart (see INDIRECT_NOTE)."""
    found, indirect = [], {"reports": 0, "bytes": 0}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        kind = None
        if "ERROR: AddressSanitizer" in line:
            kind = "asan"
        elif line.startswith("Direct leak of"):
            kind = "lsan"
        elif line.startswith("Indirect leak of"):
            indirect["reports"] += 1
            indirect["bytes"] += int(re.search(r"of (\d+) byte", line).group(1))
        elif "runtime error:" in line:
            kind = "ubsan"
        if kind:
            frames = [l.strip() for l in lines[i + 1:i + 40] if re.match(r"\s*#\d+ ", l)][:8]
            found.append({"kind": kind, "process_log": source, "headline": line.strip()[:400], "frames": frames})
    return found, indirect


INDIRECT_NOTE = (
    "Indirect leaks are counted apart, not as reports: LeakSanitizer finds objects by scanning memory for "
    "their untagged addresses, and Swift keeps many references tagged (a String's storage and an enum "
    "payload's box carry flag bits in the pointer's spare bits, a weak-reference side table sits shifted in "
    "the refcount word), so everything reachable only through such a reference, e.g. the test case "
    "instances XCTest keeps until exit and all they hold, looks leaked. A direct leak (no reference at "
    "all) is a report; the direct leaks these encodings cause are suppressed by name in Fuzz/lsan.supp.")


def tests(log):
    # The summary of the whole bundle (children's output, echoed by failing tests, has its own suites).
    executed = re.findall(r"Test Suite '(?:All|Selected) tests' (?:passed|failed) at [^\n]*\n\s*Executed (\d+) tests?, with "
                          r"(?:(\d+) tests? skipped and )?(\d+) failures? \((\d+) unexpected\)", log)
    last = executed[-1] if executed else None
    started = re.findall(r"Test Case '([^']+)' started", log)
    return {
        "executed": int(last[0]) if last else len(started),
        "skipped": int(last[1] or 0) if last else None,
        "failures": int(last[2]) if last else None,
        "unexpected": int(last[3]) if last else None,
        "completed": last is not None,
        "last_started": started[-1] if started and not last else None,
        "passed_cases": len(set(re.findall(r"Test Case '([^']+)' passed", log))),
        "failed_cases": sorted(set(re.findall(r"Test Case '([^']+)' failed", log))),
    }


def tsan(args):
    """Builds and runs the ThreadSanitizer checks of tools/tsan; returns the result's entry."""
    from concurrent.futures import ThreadPoolExecutor
    toolchain = os.path.dirname(subprocess.run(["sh", "-c", "command -v swiftc"], capture_output=True, text=True,
                                               check=True).stdout.strip())
    runtime = os.path.join(toolchain, "..", "lib", "swift", "linux")  # the TSan runtime's libdispatch hooks
    mlx = ".deps/python/mlx"
    out = os.path.join(ROOT, ".build", "tsan")
    os.makedirs(os.path.join(out, "obj"), exist_ok=True)
    cxx = [os.path.join(toolchain, "clang++"), "-std=c++20", "-g", "-O1", "-fsanitize=thread", "-fexceptions",
           f"-I{mlx}/include", "-ISources/CMLXShim/include", "-ISources/CMLXKernels/include", "-ISources/CMLXKernels"]
    link = ["-lpthread", "-ldl", f"-L{runtime}", "-ldispatch", "-lBlocksRuntime", f"-Wl,-rpath,{runtime}"]

    headers = [os.path.join(ROOT, d, f) for d in ("Sources/CMLXKernels", "Sources/CMLXKernels/include",
                                                   "Sources/CMLXShim/include") for f in os.listdir(os.path.join(ROOT, d))
               if f.endswith((".h", ".hpp"))]
    newest_header = max(os.path.getmtime(h) for h in headers)

    def compile_one(source):
        obj = os.path.join(out, "obj", os.path.basename(source) + ".o")
        newest = max(newest_header, os.path.getmtime(os.path.join(ROOT, source)))
        if not os.path.exists(obj) or os.path.getmtime(obj) < newest:
            subprocess.run(cxx + ["-c", source, "-o", obj], cwd=ROOT, check=True)
        return obj

    checks = {
        # The pool alone, MLX not linked: nothing uninstrumented between its threads.
        "kernel_pool": (["tools/tsan/kernel_pool.cpp", "Sources/CMLXKernels/kernel_threads.cpp"], []),
        # The kernels through the shim on MLX's CPU stream (libmlx uninstrumented).
        "kernels": (["tools/tsan/kernels.cpp"] + sorted(f"Sources/CMLXKernels/{f}" for f in os.listdir(
            os.path.join(ROOT, "Sources/CMLXKernels")) if f.endswith(".cpp")) + sorted(
            f"Sources/CMLXShim/{f}" for f in os.listdir(os.path.join(ROOT, "Sources/CMLXShim")) if f.endswith(".cpp")),
            [f"-L{mlx}/lib", "-lmlx", f"-Wl,-rpath,{os.path.join(ROOT, mlx, 'lib')}"]),
    }
    entry = {}
    with ThreadPoolExecutor(int(args.jobs)) as pool:
        for name, (sources, libs) in checks.items():
            objects = list(pool.map(compile_one, sources))
            binary = os.path.join(out, name)
            subprocess.run(cxx[:1] + ["-fsanitize=thread"] + objects + ["-o", binary] + libs + link, cwd=ROOT, check=True)
            started = time.time()
            proc = subprocess.run([binary], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace", env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"))
            races = [l.strip() for l in proc.stdout.splitlines() if "WARNING: ThreadSanitizer" in l]
            entry[name] = {"sources": sources, "exit_status": proc.returncode, "wall_s": round(time.time() - started, 1),
                           "reports": races, "output": proc.stdout[-3000:]}
    entry["compile"] = " ".join(os.path.basename(cxx[0]) if i == 0 else c for i, c in enumerate(cxx))
    entry["what"] = ("kernel_pool: the kernels' thread pool alone (back-to-back loops, four threads starting loops at "
                     "once, nested loops, an exception on a worker); kernels: softmax, sigmoid, GELU, the affine epilogue, "
                     "depthwise and fused convolutions, the fused 1x1 convolution, fused causal attention forward and "
                     "backward (cmlx_vjp), on MLX's CPU stream, checked against host references")
    entry["not_covered"] = ("the Swift test suite under TSan (a third full build of the bundle); libmlx.so is not "
                            "instrumented, so TSan sees MLX's locks (pthread is intercepted) but not its atomics")
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--filter", default=None)
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("--jobs", default=os.environ.get("JOBS", str(os.cpu_count())))
    ap.add_argument("--output", default=RESULT)
    ap.add_argument("--tsan", action="store_true", help="only the ThreadSanitizer check (kept beside the ASan run)")
    args = ap.parse_args()
    previous = {}
    if os.path.exists(args.output):
        with open(args.output) as f:
            previous = json.load(f)
    if args.tsan:
        previous["tsan"] = entry = tsan(args)
        previous["tsan_date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(args.output, "w") as f:
            json.dump(previous, f, indent=1)
            f.write("\n")
        runs = [v for v in entry.values() if isinstance(v, dict)]
        for name, v in entry.items():
            if isinstance(v, dict):
                print(f"test-tsan {name}: exit {v['exit_status']}, {len(v['reports'])} reports")
        sys.exit(0 if all(v["exit_status"] == 0 and not v["reports"] for v in runs) else 1)
    os.makedirs(os.path.join(ROOT, BUILD), exist_ok=True)
    load_before = load()
    build_s = None
    if not args.skip_build:
        started = time.time()
        for build in BUILD_COMMANDS:
            subprocess.run(build + ["-j", args.jobs], cwd=ROOT, check=True)
        build_s = round(time.time() - started, 1)
    command = ["swift", "test", "--skip-build", "--build-path", BUILD] + (["--filter", args.filter] if args.filter else [])
    halt = 0 if args.keep_going else 1
    # Every process's reports go to LOGS/asan.PID: the tests' own and those of the processes they
    # start (the CLI, data-parallel workers), whose stderr the tests read. A leak does not change a
    # process's exit status (exitcode=0), so that a worker's leak report cannot fail its test; an
    # ASan or UBSan report still stops the process (with that same status 0: the flag is shared), and
    # every report of every process is counted from the logs, which decide this script's status.
    logs = os.path.join(ROOT, BUILD, "sanitizer-logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    env = dict(os.environ,
               ASAN_OPTIONS=f"halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:"
                            f"detect_stack_use_after_return=1:log_path={logs}/asan",
               UBSAN_OPTIONS=f"print_stacktrace=1:halt_on_error={halt}:report_error_type=1:log_path={logs}/asan",
               LSAN_OPTIONS=f"suppressions={os.path.join(ROOT, LSAN_SUPP)}:print_suppressions=1:exitcode=0",
               # Swift's own crash handler reads the crashed process's memory and trips ASan: left to ASan.
               SWIFT_BACKTRACE="enable=no")
    started = time.time()
    proc = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    wall = round(time.time() - started, 1)
    log_path = os.path.join(ROOT, BUILD, "test-asan.log")
    with open(log_path, "w") as f:
        f.write(proc.stdout)
    found, indirect, used = [], {"reports": 0, "bytes": 0}, {}
    for name in sorted(os.listdir(logs)):
        text = open(os.path.join(logs, name), errors="replace").read()
        r, i = reports(text, os.path.relpath(os.path.join(logs, name), ROOT))
        found += r
        indirect = {k: indirect[k] + i[k] for k in indirect}
        for count, template in re.findall(r"^[ \t]+(\d+)[ \t]+\d+ (\S+)$", text, re.M):  # "Suppressions used"
            used[template] = used.get(template, 0) + int(count)
    found += reports(proc.stdout, "stdout")[0]
    counts = {k: sum(1 for r in found if r["kind"] == k) for k in ("asan", "ubsan", "lsan")}
    suppressions = [l.strip() for l in open(os.path.join(ROOT, LSAN_SUPP)) if l.strip() and not l.startswith("#")]
    result = {
        "what": "the test suite under AddressSanitizer + UndefinedBehaviorSanitizer (make test-asan)",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other builds",
        "load_average_before": load_before, "load_average_after": load(),
        "build_commands": [" ".join(b + ["-j", args.jobs]) for b in BUILD_COMMANDS], "build_s": build_s,
        "test_command": " ".join(command), "filter": args.filter, "keep_going": args.keep_going,
        "options": {k: env[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")},
        "exit_status": proc.returncode, "wall_s": wall,
        "tests": tests(proc.stdout),
        "report_counts": counts, "reports": found,
        "indirect_leaks": dict(indirect, note=INDIRECT_NOTE), "process_logs": len(os.listdir(logs)),
        "suppressions_used": used,
        "lsan_suppressions": {"file": LSAN_SUPP, "entries": suppressions},
        "findings": FINDINGS,
        "uninstrumented": ["libmlx.so (mlx-cpu wheel)", "libarrow / libparquet (pyarrow wheel)", "libonnxruntime",
                           "Debian's libpng, libjpeg-turbo, libwebp, libtiff, giflib, stb_image, FreeType/HarfBuzz"],
        "log": os.path.relpath(log_path, ROOT),
    }
    for key in ("tsan", "tsan_date"):
        if key in previous:
            result[key] = previous[key]
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    t = result["tests"]
    print(f"indirect leaks (not counted): {indirect}")
    print(f"test-asan: {t['executed']} tests, {t['failures']} failures, reports {counts}, {wall:.0f} s "
          f"(exit {proc.returncode}; log {result['log']})")
    sys.exit(0 if proc.returncode == 0 and not found else 1)


if __name__ == "__main__":
    main()
