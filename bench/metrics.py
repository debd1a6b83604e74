#!/usr/bin/env python3
"""Metrics benchmark: CER over 100,000 pairs of ~30 characters, ocrtune vs rapidfuzz and jiwer.

Same pairs, same run. ocrtune's CER (grapheme clusters, NFC) and its code-point form (jiwer's
definition) are timed inside the Swift process, excluding file reading; the peers are timed on
in-memory lists. Writes bench/results/metrics.json. Needs `pip install jiwer rapidfuzz`
(bench/requirements.txt, installed into .deps/bench by `make bench`).
"""
import argparse, json, os, platform, random, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".deps", "bench"))

import jiwer  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,",
    "一二三四五六七八九十口日目田由甲申电的了是在人有我他这中大来上",
    "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی ",
]


def make_pairs(n, seed):
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        alphabet = rng.choice(ALPHABETS)
        ref = "".join(rng.choice(alphabet) for _ in range(30)).strip() or "a"
        pred = list(ref)
        for _ in range(rng.randint(0, 4)):
            op = rng.random()
            i = rng.randrange(len(pred) + 1)
            if op < 0.4 and pred:
                pred[min(i, len(pred) - 1)] = rng.choice(alphabet)
            elif op < 0.7:
                pred.insert(i, rng.choice(alphabet))
            elif pred:
                del pred[min(i, len(pred) - 1)]
        pairs.append((ref, "".join(pred)))
    return pairs


def best(fn, runs=3):
    times, value = [], None
    for _ in range(runs):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return value, min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "MetricsBench"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "metrics.json"))
    args = parser.parse_args()

    pairs = make_pairs(args.pairs, seed=0)
    refs = [r for r, _ in pairs]
    preds = [p for _, p in pairs]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for r, p in pairs:
            f.write(json.dumps({"reference": r, "prediction": p}, ensure_ascii=False) + "\n")
        path = f.name
    try:
        swift = json.loads(subprocess.run([args.binary, path], check=True, capture_output=True, text=True).stdout)
    finally:
        os.unlink(path)

    def rapidfuzz_cer():
        edits = sum(Levenshtein.distance(r, p) for r, p in pairs)
        return edits / sum(len(r) for r in refs)

    rf_cer, rf_s = best(rapidfuzz_cer)
    jw_cer, jw_s = best(lambda: jiwer.cer(refs, preds), runs=1)

    result = {
        "benchmark": "metrics",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "pairs": args.pairs,
        "ocrtune_cer_seconds": round(swift["cer_seconds"], 4),
        "ocrtune_cer_codepoint_seconds": round(swift["cer_codepoint_seconds"], 4),
        "ocrtune_full_report_seconds": round(swift["report_seconds"], 4),
        "rapidfuzz_seconds": round(rf_s, 4),
        "jiwer_seconds": round(jw_s, 4),
        "ocrtune_vs_rapidfuzz_speed_ratio": round(rf_s / swift["cer_codepoint_seconds"], 3),
        "ocrtune_vs_jiwer_speed_ratio": round(jw_s / swift["cer_codepoint_seconds"], 3),
        "cer_ocrtune_codepoint": swift["cer_codepoint"],
        "cer_rapidfuzz": rf_cer,
        "cer_jiwer": jw_cer,
        "cer_agrees_with_jiwer": abs(swift["cer_codepoint"] - jw_cer) < 1e-9,
        "target_seconds": 1.0,
        "target_met": swift["cer_seconds"] < 1.0,
        "notes": "speed ratios: peer seconds / ocrtune seconds (higher is faster); ocrtune_cer_seconds uses grapheme clusters + NFC (the default), the codepoint figure jiwer's definition",
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(args.out + ".tmp", args.out)
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
