#!/usr/bin/env python3
"""Base forms of a fully inflected Persian word list (issue #22's word-variety lever).

myspell-fa's fa_IR.dic lists every inflected form (آتشزاهایتان, فرشهایشان ...): drawn uniformly, training
lines are mostly plural/possessive suffixes (ه ا ش ن ت, ZWNJ) and rarely see ک گ پ ز و. This keeps the
entries that are not another entry plus inflectional suffixes, nor compounds (ZWNJ) nor
می/نمی-prefixed verb forms, from the same list only (no other
word source, so nothing of the held-out aspell-fa words leaks in).

    python3 tools/persian_stems.py --dic /usr/share/hunspell/fa_IR.dic --out .demo/fa-stems.txt
    # plus as many inflected entries, drawn with a fixed seed (the own split's words are inflected)
    python3 tools/persian_stems.py --dic /usr/share/hunspell/fa_IR.dic --with-inflected 1 --out .demo/fa-stems-mix.txt
"""
import argparse
import random

ZWNJ = "\u200c"
# plural, possessive, indefinite/relative ی, copula/person endings, comparative/superlative
SUFFIXES = sorted(["ها", "ان", "گان", "ات", "ی", "یی", "ای", "م", "ت", "ش", "مان", "تان", "شان", "ام", "اش",
                   "ایم", "اید", "اند", "یم", "ید", "ند", "ست", "تر", "ترین"], key=len, reverse=True)


def is_suffixes(tail):
    """Whether `tail` (ZWNJs allowed between parts) is one or more inflectional suffixes."""
    tail = tail.lstrip(ZWNJ)
    if not tail:
        return False
    for s in SUFFIXES:
        if tail.startswith(s) and (tail == s or is_suffixes(tail[len(s):])):
            return True
    return False


VERB_PREFIXES = ("نمی", "می")  # continuous/negated present: می‌روم, نمیدانند
PERSON_ENDINGS = ("د", "م", "ی", "ند", "ید", "یم")


def is_base(w, vocab):
    if ZWNJ in w:  # compounds and prefixed verb forms (می‌استقرار‌یابند)
        return False
    if any(w[:k] in vocab and is_suffixes(w[k:]) for k in range(2, len(w))):
        return False
    for p in VERB_PREFIXES:
        if w.startswith(p) and len(w) > len(p) + 2 and w.endswith(PERSON_ENDINGS):
            return False
    return True


def stems(words):
    vocab = set(words)
    return [w for w in words if is_base(w, vocab)]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dic", required=True, help="hunspell .dic (first line: the count; one word a line)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--with-inflected", type=float, default=0,
                    help="also write RATIO x as many of the other entries, drawn with --seed")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with open(args.dic, encoding="utf-8") as f:
        lines = [l.strip().split("/")[0] for l in f]
    words = [w for w in lines[1:] if w] if lines and lines[0].isdigit() else [w for w in lines if w]
    kept = stems(words)
    base = set(kept)
    others = [w for w in words if w not in base]
    extra = random.Random(args.seed).sample(others, min(len(others), round(args.with_inflected * len(kept))))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("".join(w + "\n" for w in kept + extra))
    print(f"{len(kept)} of {len(words)} entries are base forms, {len(extra)} inflected added -> {args.out}")
