#!/usr/bin/env python3
"""Generate the jiwer / sacreBLEU parity fixture for the OCRMetrics tests.

Usage (from the repository root):

    python3 -m venv /tmp/mvenv
    /tmp/mvenv/bin/pip install jiwer==4.0.0 rapidfuzz sacrebleu
    /tmp/mvenv/bin/python tools/make_metrics_fixtures.py \
        Tests/OCRMetricsTests/Fixtures/metrics_parity.json

The output is deterministic for a given jiwer / sacreBLEU version (fixed seed,
no dependence on hash order). It contains:

* ``pairs``: >= 1,000 (reference, prediction) pairs across scripts (Latin with
  precomposed and decomposed accents, CJK, Hangul, Persian/Arabic, Cyrillic,
  Greek, Devanagari, Thai, emoji with ZWJ / skin tones / flags / keycaps,
  unusual whitespace including U+001C-U+001F, U+0085, U+3000, NBSP, CRLF),
  with empty, whitespace-only, identical and unrelated predictions, and the
  expected per-pair ``jiwer.cer`` / ``jiwer.wer`` (jiwer 4.0 default
  transforms). Every reference is non-empty after ``str.strip()``.
* ``corpus`` and ``chunks``: ``jiwer.cer`` / ``jiwer.wer`` on lists (the whole
  list and consecutive chunks), which jiwer micro-averages.
* ``empty_reference_pairs``: pairs whose reference is empty after stripping,
  with jiwer's values (jiwer does not raise; it returns the number of
  insertions, i.e. edits / max(reference length, 1)).
* ``tokenizer_13a``: sacreBLEU ``13a`` tokens of ``text.rstrip()``.
* ``bleu``: ``sacrebleu.corpus_bleu`` results for several corpora.
"""

import json
import random
import sys
import unicodedata

import jiwer
import sacrebleu
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

SEED = 20240611

# --------------------------------------------------------------------------
# Vocabulary per script

LATIN_WORDS = (
    "the quick brown fox jumps over lazy dog invoice total amount date number "
    "café naïve résumé façade über straße größe Ångström coöperate piñata "
    "Tiếng Việt Nguyễn phở đường São Paulo Kraków Łódź żółć Dvořák "
    "Hello World OCR receipt page line table 2024-06-11 12,50 3.14 #42 "
    "e-mail (note) [draft] {json} \"quoted\" it's don't a.m. p.m. U.S.A."
).split(" ")
CJK_TEXT = (
    "一二三四五六七八九十百千万人口日月山川水火木金土上下左右中大小天地"
    "東京都大阪府北海道漢字仮名交じり文学習認識精度評価"
    "ひらがなカタカナアイウエオかきくけこさしすせそ"
    "한국어문자인식테스트서울부산"
)
PERSIAN_WORDS = (
    "سلام دنیا می‌خواهم کتاب‌ها فارسی متن شناسایی نوری حروف "
    "مَدرَسَة كِتَابٌ العربية ١٢٣ ۴۵۶ ۱۴۰۳ خانه‌ای"
).split(" ")
CYRILLIC_WORDS = "привет мир распознавание текста Ёлка ещё съезд Київ ґанок Београд".split(" ")
GREEK_WORDS = "καλημέρα κόσμε Ελληνικά ΑΒΓΔ ώρα".split(" ")
DEVANAGARI_WORDS = "नमस्ते दुनिया हिन्दी क्षत्रिय ज्ञान".split(" ")
THAI_WORDS = "สวัสดี ภาษาไทย น้ำ".split(" ")
EMOJI = [
    "😀", "👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇯🇵", "🇮🇷", "1️⃣", "❤️", "🏳️‍🌈", "✅", "🤖",
]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0303", "\u0327", "\u064b", "\u0651", "\u093c"]
ODD_SPACES = [
    "  ", "   ", "\t", " \t ", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\u0085",
    "\u001c", "\u001f", "\u2028", "\u200b", "\ufeff", "\u202f", " \u3000 ",
]
SCRIPTS = ["latin", "cjk", "persian", "cyrillic", "greek", "devanagari", "thai", "emoji", "mixed"]


def nfd_some(rng, word):
    """Sometimes decompose a word (NFD), so code-point sequences differ."""
    return unicodedata.normalize("NFD", word) if rng.random() < 0.25 else word


def make_words(rng, script, n):
    if script == "latin":
        return [nfd_some(rng, rng.choice(LATIN_WORDS)) for _ in range(n)]
    if script == "cjk":
        # CJK text usually has no spaces: a few "words" of 1-6 characters.
        words = []
        for _ in range(max(1, n // 3)):
            k = rng.randint(1, 6)
            start = rng.randrange(len(CJK_TEXT) - k)
            word = CJK_TEXT[start:start + k]
            words.append(nfd_some(rng, word))  # NFD splits Hangul into jamo
        return words
    if script == "persian":
        return [rng.choice(PERSIAN_WORDS) for _ in range(n)]
    if script == "cyrillic":
        return [nfd_some(rng, rng.choice(CYRILLIC_WORDS)) for _ in range(n)]
    if script == "greek":
        return [nfd_some(rng, rng.choice(GREEK_WORDS)) for _ in range(n)]
    if script == "devanagari":
        return [rng.choice(DEVANAGARI_WORDS) for _ in range(n)]
    if script == "thai":
        return [rng.choice(THAI_WORDS) for _ in range(n)]
    if script == "emoji":
        return ["".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3))) + rng.choice(["", "ok", "!"])
                for _ in range(n)]
    other = [s for s in SCRIPTS if s not in ("mixed",)]
    return [w for _ in range(n) for w in make_words(rng, rng.choice(other), 1)]


def join_words(rng, words):
    out = []
    for i, word in enumerate(words):
        if i:
            out.append(rng.choice(ODD_SPACES) if rng.random() < 0.15 else " ")
        out.append(word)
    text = "".join(out)
    if rng.random() < 0.1:
        text = rng.choice(ODD_SPACES) + text
    if rng.random() < 0.1:
        text = text + rng.choice(ODD_SPACES)
    return text


def random_char(rng):
    pool = rng.choice([
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:-'\"()",
        CJK_TEXT, "".join(PERSIAN_WORDS), "".join(CYRILLIC_WORDS), "".join(COMBINING),
        "".join(EMOJI), "".join(ODD_SPACES), "Il1|O0oрсаеё",
    ])
    return rng.choice(pool)


def corrupt(rng, reference):
    """A prediction: a noisy copy of the reference (or something degenerate)."""
    r = rng.random()
    if r < 0.05:
        return ""
    if r < 0.07:
        return rng.choice([" ", "  ", "\t", "\u3000", "\n"])
    if r < 0.15:
        return reference
    if r < 0.19:
        return join_words(rng, make_words(rng, rng.choice(SCRIPTS), rng.randint(1, 6)))
    chars = list(reference)
    rate = rng.choice([0.02, 0.05, 0.1, 0.2, 0.4])
    out = []
    for ch in chars:
        x = rng.random()
        if x < rate / 3:
            continue  # deletion
        if x < 2 * rate / 3:
            out.append(random_char(rng))  # substitution
            continue
        out.append(ch)
        if x < rate:
            out.append(random_char(rng))  # insertion
    pred = "".join(out)
    if rng.random() < 0.1:
        pred = pred.replace(" ", "  ")
    if rng.random() < 0.05:
        pred = pred.upper()
    if rng.random() < 0.1:
        pred = " " + pred + rng.choice(ODD_SPACES)
    if rng.random() < 0.05:
        pred = unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC"]), pred)
    return pred


def make_pairs(rng, count):
    pairs = []
    while len(pairs) < count:
        script = SCRIPTS[len(pairs) % len(SCRIPTS)]
        reference = join_words(rng, make_words(rng, script, rng.randint(1, 12)))
        if rng.random() < 0.05:
            reference += rng.choice(COMBINING)  # a stray combining mark
        if not reference.strip():
            continue
        pairs.append((reference, corrupt(rng, reference)))
    return pairs


# --------------------------------------------------------------------------
# BLEU material

BLEU_SENTENCES = [
    ("The cat sat on the mat.", "The cat sat on a mat."),
    ("It costs $3.14, not 1,000 dollars!", "It costs $3.14 not 1.000 dollars !"),
    ("Pages 10-20 (see Fig. 3) are missing.", "Pages 10 - 20 (see Fig.3) are missing"),
    ("AT&amp;T said &quot;no&quot; &lt;today&gt;.", "AT&T said \"no\" <today>."),
    ("A well-\nknown <skipped> fact.", "A well-known fact."),
    ("Hello, world... again,and again.", "Hello world... again, and again."),
    ("東京は日本の首都です。", "東京は日本の首都です"),
    ("Привет, мир! Как дела?", "Привет мир! Как дела?"),
    ("e-mail me at foo@bar.com / call 555-1234", "email me at foo@bar.com/call 555 1234"),
    ("", "nothing here"),
    ("short", ""),
]


def bleu_entry(hyps, refs):
    result = sacrebleu.corpus_bleu(hyps, [refs])
    return {
        "hypotheses": hyps,
        "references": refs,
        "score": result.score,
        "precisions": list(result.precisions),
        "bp": result.bp,
        "sys_len": result.sys_len,
        "ref_len": result.ref_len,
    }


# --------------------------------------------------------------------------
# Output

def dumps(obj):
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    # Keep the file line-oriented for diff tools that treat these as breaks.
    return text.replace("\u0085", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "Tests/OCRMetricsTests/Fixtures/metrics_parity.json"
    rng = random.Random(SEED)
    pairs = make_pairs(rng, 1200)
    refs = [r for r, _ in pairs]
    hyps = [h for _, h in pairs]

    pair_entries = [
        {"reference": r, "prediction": h, "cer": float(jiwer.cer(r, h)), "wer": float(jiwer.wer(r, h))}
        for r, h in pairs
    ]
    chunk_size = 40
    chunks = []
    for start in range(0, len(pairs), chunk_size):
        end = min(start + chunk_size, len(pairs))
        chunks.append({
            "start": start, "end": end,
            "cer": float(jiwer.cer(refs[start:end], hyps[start:end])),
            "wer": float(jiwer.wer(refs[start:end], hyps[start:end])),
        })
    empty_reference_pairs = [
        {"reference": r, "prediction": h, "cer": float(jiwer.cer(r, h)), "wer": float(jiwer.wer(r, h))}
        for r, h in [("", ""), ("", "abc"), ("  ", "a b"), ("\t", ""), ("", "👍🏽 x"), ("\u3000", "一 二  三")]
    ]

    tok = Tokenizer13a()
    token_texts = [s for pair in BLEU_SENTENCES for s in pair] + refs[:150] + hyps[:150] + [
        "a..b", "x.,y", "1.5,2", "a-1-2", "9-x", "end.", ".start", "&amp;lt;", "tab\tsep", "line-\nbreak",
        "trailing  \n ", "  lead", "\u0085x\u001cy", "\u3000z\u2028", "(1)[2]{3}", "`quote'", "a/b\\c",
    ]
    tokenizer_cases = [{"text": t, "tokens": tok(t.rstrip()).split()} for t in token_texts]

    bleu_cases = [
        bleu_entry([h for _, h in BLEU_SENTENCES], [r for r, _ in BLEU_SENTENCES]),
        bleu_entry(hyps, refs),
        bleu_entry(hyps[:100], refs[:100]),
        bleu_entry(["the the the the the the the"], ["the cat is on the mat"]),
        bleu_entry(["a b c d e"], ["a b c d e f g h"]),
        bleu_entry(["a b"], ["a b"]),
        bleu_entry(["one two three four five six"], ["one two three four five six"]),
        bleu_entry(["x y z w"], ["a b c d"]),
    ]
    # Sanity: BLEU() with explicit defaults gives the same as corpus_bleu.
    assert BLEU().corpus_score(hyps, [refs]).score == bleu_cases[1]["score"]

    fixture = {
        "generator": "tools/make_metrics_fixtures.py",
        "seed": SEED,
        "jiwer_version": jiwer.__version__ if hasattr(jiwer, "__version__") else _version("jiwer"),
        "sacrebleu_version": sacrebleu.__version__,
        "corpus": {"cer": float(jiwer.cer(refs, hyps)), "wer": float(jiwer.wer(refs, hyps))},
    }
    lines = ["{"]
    for key in sorted(fixture):
        lines.append(f"{json.dumps(key)}: {dumps(fixture[key])},")
    for key, items in [("bleu", bleu_cases), ("chunks", chunks), ("empty_reference_pairs", empty_reference_pairs),
                       ("pairs", pair_entries), ("tokenizer_13a", tokenizer_cases)]:
        lines.append(f"{json.dumps(key)}: [")
        lines.append(",\n".join(dumps(item) for item in items))
        lines.append("],")
    lines[-1] = "]"
    lines.append("}")
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(out_path, encoding="utf-8"))  # round-trip check
    print(f"wrote {out_path}: {len(pair_entries)} pairs, corpus cer={fixture['corpus']['cer']:.6f} "
          f"wer={fixture['corpus']['wer']:.6f}, bleu={bleu_cases[1]['score']:.4f}")


def _version(package):
    from importlib.metadata import version
    return version(package)


if __name__ == "__main__":
    main()
