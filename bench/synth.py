#!/usr/bin/env python3
"""Synthesis benchmark: ocrtune's line renderer vs a TRDG-style Pillow renderer, same run.

- Swift side (Benchmarks/SynthBench): 48-px lines, `scan` profile, PNG-encoded in memory, on all
  cores, for Latin (invoice-like fields), Chinese (tang300) and Persian (myspell-fa words) text;
  and formulas/s through latex + dvipng.
- Peer: the same corpora and fonts drawn with Pillow (FreeType + raqm shaping) and the same
  degradation mix (rotation, paper tint and texture, blur, down/up-scaling, noise, salt and
  pepper, contrast/brightness, JPEG), resized to 48 px and PNG-encoded, with one process per core.
  Pillow comes from PyPI (tools/setup.sh installs it into .deps/python); without it the peer is
  reported as unavailable.

Writes bench/results/synth.json. Usage: python3 bench/synth.py [--lines N] [--formulas N]
"""
import argparse, io, json, multiprocessing as mp, os, platform, random, re, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".deps", "python"))
sys.path.insert(1, os.path.join(ROOT, ".deps", "bench"))

FONT_DIRS = ["/usr/share/fonts"]
TARGET_LINES_PER_S = 300


def find_font(names):
    for d in FONT_DIRS:
        for root, _, files in os.walk(d):
            for n in names:
                if n in files:
                    return os.path.join(root, n)
    return None


def corpora():
    latin_items = ["Paper A4", "Toner cartridge", "Consulting", "Shipping", "Coffee beans", "USB cable", "Desk lamp"]
    rng = random.Random(1)
    latin = []
    for _ in range(2000):
        k = rng.randrange(4)
        if k == 0:
            latin.append("%04d-%02d-%02d" % (rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)))
        elif k == 1:
            latin.append("$%d.%02d" % (rng.randint(0, 999), rng.randint(0, 99)))
        elif k == 2:
            latin.append("INV-%d" % rng.randint(1000, 99999999))
        else:
            q, u = rng.randint(1, 12), rng.randint(100, 99999) / 100
            latin.append("%d × %s  %.2f  %.2f" % (q, rng.choice(latin_items), u, u * q))
    out = {"latin": (latin, ["NotoSans-Regular.ttf", "NotoSerif-Regular.ttf", "DejaVuSans.ttf"])}
    esc = re.compile(r"\x1b\[[0-9;]*m")
    try:
        with open("/usr/share/games/fortunes/tang300", encoding="utf-8") as f:
            zh = [esc.sub("", l).strip() for l in f]
        out["chinese"] = ([l for l in zh if len(l) >= 2 and l != "%"], ["NotoSansCJK-Regular.ttc"])
    except OSError:
        pass
    try:
        with open("/usr/share/hunspell/fa_IR.dic", encoding="utf-8") as f:
            words = [l.split("/")[0].strip() for l in f][1:]
        out["persian"] = ([" ".join(rng.choice(words) for _ in range(rng.randint(2, 6))) for _ in range(2000)],
                          ["NotoNaskhArabic-Regular.ttf", "nazli.ttf"])
    except OSError:
        pass
    return out


# MARK: Peer (Pillow)

_peer = {}


def _peer_init(fonts):
    from PIL import ImageFont
    _peer["fonts"] = {}
    for path in fonts:
        for px in range(24, 35):
            _peer["fonts"][(path, px)] = ImageFont.truetype(path, px, layout_engine=ImageFont.Layout.RAQM)


def _peer_line(args):
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter
    text, fonts, i = args
    cpu0 = time.process_time()
    r = random.Random(i)
    path = r.choice(fonts)
    font = _peer["fonts"][(path, r.randint(24, 33))]
    left, top, right, bottom = font.getbbox(text)
    pad = r.randint(5, 24)
    img = Image.new("RGB", (right - left + 2 * pad, 48), "white")
    ImageDraw.Draw(img).text((pad - left, (48 - (bottom - top)) // 2 - top), text, font=font, fill=(r.randint(0, 60),) * 3)
    if r.random() < 0.5:
        img = img.rotate(r.uniform(-1.5, 1.5), resample=Image.BICUBIC, expand=True, fillcolor="white")
    a = np.asarray(img, dtype=np.float32)
    if r.random() < 0.7:
        t = r.uniform(0, 30)
        a = a * (np.array([255 - 0.15 * t, 255 - 0.45 * t, 255 - t], dtype=np.float32) / 255)
    if r.random() < 0.5:
        h, w = a.shape[:2]
        small = np.random.default_rng(i).random((h // 38 + 2, w // 38 + 2), dtype=np.float32)
        tex = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR), dtype=np.float32) / 255
        a = a * (1 - r.uniform(0.03, 0.12) * tex)[..., None]
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if r.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.0)))
    if r.random() < 0.3:
        f = r.uniform(0.55, 0.85)
        w, h = img.size
        img = img.resize((max(1, int(w * f)), max(1, int(h * f))), Image.BOX).resize((w, h), Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32)
    rng = np.random.default_rng(i + 1)
    if r.random() < 0.6:
        a = a + rng.normal(0, r.uniform(2, 10), a.shape[:2])[..., None]
    if r.random() < 0.1:
        m = rng.random(a.shape[:2]) < r.uniform(0.001, 0.005)
        a[m] = (rng.random(int(m.sum())) < 0.5)[:, None] * 255
    if r.random() < 0.5:
        a = (a - 128) * r.uniform(0.7, 1.1) + 128 + r.uniform(-15, 15)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if r.random() < 0.5:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=r.randint(50, 95))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    w, h = img.size
    if h != 48:
        img = img.resize((max(1, round(w * 48 / h)), 48), Image.BILINEAR)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)  # its fastest zlib level, as ours (RLE)
    return len(out.getvalue()), time.process_time() - cpu0


def peer_lines_per_s(texts, font_files, n, workers):
    fonts = [p for p in (find_font([f]) for f in font_files) if p]
    if not fonts:
        return None
    jobs = [(texts[i % len(texts)], fonts, i) for i in range(n)]
    with mp.Pool(workers, initializer=_peer_init, initargs=(fonts,)) as pool:
        pool.map(_peer_line, jobs[:64], chunksize=8)  # warm-up
        t = time.perf_counter()
        results = pool.map(_peer_line, jobs, chunksize=16)
        wall = time.perf_counter() - t
        return n / wall, 1000 * sum(c for _, c in results) / n


# MARK: Driver

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--formulas", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each side; medians are reported")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "SynthBench"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "synth.json"))
    args = parser.parse_args()
    workers = os.cpu_count() or 1

    try:
        import PIL  # noqa: F401
        import numpy  # noqa: F401
        have_peer = True
    except ImportError:
        have_peer = False
    texts = corpora()

    swift_runs, peer_runs = [], {k: [] for k in texts}
    for rnd in range(args.rounds):
        cmd = [args.binary, "--lines", str(args.lines), "--formulas", str(args.formulas if rnd == 0 else 0)]
        swift_runs.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
        if have_peer:
            for name, (lines, fonts) in texts.items():
                v = peer_lines_per_s(lines, fonts, args.lines // 2, workers)
                if v:
                    peer_runs[name].append(v)  # (lines/s, CPU ms per line)

    cases = {}
    for name in swift_runs[0]["lines"]:
        runs = [r["lines"][name]["lines_per_s"] for r in swift_runs if "lines_per_s" in r["lines"].get(name, {})]
        if not runs:
            continue
        ours = statistics.median(runs)
        cpu = statistics.median(r["lines"][name]["cpu_ms_per_line"] for r in swift_runs if name in r["lines"])
        case = {"lines_per_s": round(ours, 1), "skipped": swift_runs[0]["lines"][name]["skipped"],
                "mean_png_bytes": swift_runs[0]["lines"][name]["mean_png_bytes"],
                "cpu_ms_per_line": round(cpu, 3),
                "lines_per_s_if_cores_free": round(workers * 1000 / cpu, 1)}
        if peer_runs.get(name):
            peer = statistics.median(v for v, _ in peer_runs[name])
            peer_cpu = statistics.median(c for _, c in peer_runs[name])
            case["pillow_lines_per_s"] = round(peer, 1)
            case["vs_pillow_ratio"] = round(ours / peer, 3)
            case["pillow_cpu_ms_per_line"] = round(peer_cpu, 3)
            case["vs_pillow_cpu_ratio"] = round(peer_cpu / cpu, 3)
        cases[name] = case
    overall = statistics.median(r["lines_per_s"] for r in swift_runs)
    result = {
        "benchmark": "synth",
        "machine": {"cores": workers, "platform": platform.platform(), "processor": platform.machine()},
        "line_height": 48,
        "profile": "scan",
        "threads": swift_runs[0]["threads"],
        "lines": cases,
        "lines_per_s": round(overall, 1),
        "lines_per_s_target": TARGET_LINES_PER_S,
        "formulas_per_s": round(swift_runs[0].get("formulas_per_s", 0), 2),
        "formulas": swift_runs[0].get("formulas"),
        "peer": "Pillow %s (FreeType + raqm), TRDG-style pipeline, %d processes" % (__import__("PIL").__version__, workers) if have_peer else "unavailable (pip install pillow)",
        "rounds": args.rounds,
        "lines_per_round": args.lines,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "notes": "lines/s include rendering, degradations and PNG encoding in memory (no disk); ratios > 1 favor ocrtune; "
                 "cpu_ms_per_line is process CPU time (ours: all threads; Pillow: per-line time in the workers), so "
                 "lines_per_s_if_cores_free = cores * 1000 / cpu_ms_per_line is the rate on an otherwise idle machine; "
                 "formulas/s include latex + dvipng (typesetting each distinct formula once per font) and degradations",
    }
    result["targets_met"] = bool(all(c["lines_per_s"] >= TARGET_LINES_PER_S for c in cases.values()))
    result["targets_met_if_cores_free"] = bool(all(c["lines_per_s_if_cores_free"] >= TARGET_LINES_PER_S for c in cases.values()))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
