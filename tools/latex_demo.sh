#!/usr/bin/env bash
# The LaTeX case (issue #8): the pretrained latex-ocr-junia model on formulas typeset by
# `ocrtune data synth --latex` with the clean and the handwriting profile, before and after
# fine-tuning on the handwriting profile's train split. Prints CER, LaTeX-token error rate and
# exact match per set; everything lands in $WORK.
#
#   tools/latex_demo.sh                       # defaults below; ~15-25 min on 2 CPU cores
#   STEPS=600 METHOD=lora tools/latex_demo.sh
#
# Needs: a release build (swift build -c release --product ocrtune), TeX + dvipng, and the
# converted model (python3 tools/convert_latex_ocr_junia.py convert --package DIR --out $MODEL,
# DIR holding the unpacked latex-ocr-junia 0.1.3 wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

OCRTUNE=${OCRTUNE:-.build/release/ocrtune}
MODEL=${MODEL:-/work/models/latex-ocr-junia}
WORK=${WORK:-/tmp/latex-demo}
COUNT=${COUNT:-1200}          # formulas per profile (84/8/8 train/val/test)
STEPS=${STEPS:-300}           # optimizer steps of the fine-tune
METHOD=${METHOD:-full}        # full or lora
LR=${LR:-2e-4}
BATCH=${BATCH:-8}
PYTHON=${PYTHON:-python3}

mkdir -p "$WORK"
"$PYTHON" tools/latex_formulas.py "$COUNT" 1 > "$WORK/formulas.txt"

# Same formulas, seed and split for both profiles: the test sets hold the same formulas.
for profile in clean handwriting; do
    [ -f "$WORK/latex-$profile/dataset.json" ] || "$OCRTUNE" data synth --latex "$WORK/formulas.txt" \
        --profile "$profile" --seed 7 --split 84,8,8 --out "$WORK/latex-$profile" --overwrite
done

evaluate() {  # model, tag
    for profile in clean handwriting; do
        "$OCRTUNE" eval --model "$1" --data "$WORK/latex-$profile" --split test --out "$WORK/eval-$2-$profile"
        "$OCRTUNE" score "$WORK/eval-$2-$profile/predictions.jsonl" --latex > "$WORK/eval-$2-$profile/score-latex.json"
    done
}

evaluate "$MODEL" before
"$OCRTUNE" train --model "$MODEL" --data "$WORK/latex-handwriting" --out "$WORK/run" --method "$METHOD" \
    --max-steps "$STEPS" --batch-size "$BATCH" --learning-rate "$LR" --warmup-steps 20 \
    --eval-every 100 --eval-samples 32 --save-every 100 --seed 1
evaluate "$WORK/run/model" after

"$PYTHON" - "$WORK" <<'EOF'
import json, sys
work = sys.argv[1]
print(f"{'set':<24}{'CER':>9}{'LaTeX TER':>11}{'exact':>8}")
for tag in ["before", "after"]:
    for profile in ["clean", "handwriting"]:
        r = json.load(open(f"{work}/eval-{tag}-{profile}/score-latex.json"))
        print(f"{tag + ' / ' + profile:<24}{r['cer'] * 100:8.2f}%{r['latex']['token_error_rate'] * 100:10.2f}%"
              f"{r['latex']['exact_match'] * 100:7.1f}%")
EOF
