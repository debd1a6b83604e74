#!/usr/bin/env bash
# Renders the demo's synthetic sets with `ocrtune data synth` (48-px lines, `scan` profile):
#   - Persian training lines: random 1-4 word sequences from myspell-fa's dictionary.
#   - Chinese replay set: lines of Tang poems from fortunes-zh.
# Usage: tools/synth_demo_sets.sh [OUT_DIR]   (env: OCRTUNE binary, N_FA, N_ZH, SEED)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${OCRTUNE:-.build/release/ocrtune}
OUT=${1:-.demo/synth}
N_FA=${N_FA:-2000}
N_ZH=${N_ZH:-500}
SEED=${SEED:-1}
FA_DIC=/usr/share/hunspell/fa_IR.dic
ZH_POEMS=/usr/share/games/fortunes/tang300

for f in "$FA_DIC" "$ZH_POEMS"; do
  [ -f "$f" ] || { echo "synth_demo_sets: $f missing (apt packages myspell-fa, fortunes-zh; run tools/setup.sh)" >&2; exit 1; }
done
mkdir -p "$OUT"

"$BIN" data synth --corpus "$FA_DIC" --words --word-range 1-4 \
  --font "Noto Naskh Arabic" --font Nazli --font Homa \
  --profile scan --line-height 48 --count "$N_FA" --seed "$SEED" --out "$OUT/fa-train" --overwrite

"$BIN" data synth --corpus "$ZH_POEMS" \
  --font "Noto Sans CJK SC" --font "Noto Serif CJK SC" --font "AR PL UKai CN" \
  --profile scan --line-height 48 --count "$N_ZH" --seed "$((SEED + 1))" --out "$OUT/zh-replay" --overwrite
