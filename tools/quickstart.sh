#!/usr/bin/env bash
# Runs README's "Your own data, step by step" as written, on synthesized lines standing in for a
# user's scans: the code block is read from README.md and each line runs with `ocrtune` being the
# release build. Needs PyPI for `models get` (or a filled $OCRTUNE_CACHE). Exits non-zero on the
# first failing step.
#
#   tools/quickstart.sh [WORKDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="${OCRTUNE_BIN:-$ROOT/.build/release/ocrtune}"
W="${1:-$(mktemp -d /tmp/ocrtune-quickstart.XXXXXX)}"
mkdir -p "$W"
cd "$W"
say() { printf '\n[quickstart] %s\n' "$*"; }

say "your lines: 150 rendered scans of Tang poems and a listing (IMAGE<TAB>TEXT)"
rm -rf synth
"$B" data synth --corpus /usr/share/games/fortunes/tang300 --shuffle --font "AR PL UKai CN" \
  --profile scan --count 150 --seed 3 --listing --out synth > /dev/null
sed 's|^|synth/|' synth/listing.tsv > lines.tsv   # paths relative to the listing's folder
cp "$(head -1 lines.tsv | cut -f1)" scan.png

say "README's steps"
awk '/^## Your own data/{f=1} f&&/^```sh/{g=1;next} g&&/^```/{exit} g{print}' "$ROOT/README.md" \
  | sed 's/ *#.*$//' | grep -v '^$' > steps.sh
cat steps.sh
ocrtune() { "$B" "$@"; }
rm -rf models data runs compare.html preview.html
while IFS= read -r step; do
  say "$step"
  eval "$step"
done < steps.sh
say "done in $W"
