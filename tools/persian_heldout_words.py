#!/usr/bin/env python3
"""The demo's held-out Persian words: aspell-fa's dictionary (`aspell -l fa dump master`) less
every word of the training corpus (myspell-fa's fa_IR.dic), kept to the training corpus's
alphabet (so the held-out split measures unseen fonts and words, not unseen characters).

    python3 tools/persian_heldout_words.py --train /usr/share/hunspell/fa_IR.dic --out .demo/fa-heldout-words.txt
"""

import argparse
import subprocess
import sys


def dic_words(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    # hunspell: first line is the count; `word/FLAGS` loses its flags.
    return [l.split("/", 1)[0].strip() for l in lines[1:] if l.split("/", 1)[0].strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True, help="the training corpus (.dic, or one word a line)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    train = dic_words(args.train) if args.train.endswith(".dic") else open(args.train, encoding="utf-8").read().split()
    train_set = set(train)
    alphabet = set("".join(train))
    try:
        dump = subprocess.run(["aspell", "-l", "fa", "dump", "master"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"aspell -l fa dump master failed ({e}); install aspell-fa (tools/setup.sh does)")
    words = sorted({w for w in dump.decode("utf-8").split() if w not in train_set and set(w) <= alphabet})
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    print(f"{len(words)} held-out words (aspell-fa less myspell-fa, training alphabet) -> {args.out}")


if __name__ == "__main__":
    main()
