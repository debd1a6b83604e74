#!/usr/bin/env bash
# The LaTeX case (issue #8): the pretrained latex-ocr-junia model on formulas typeset by
# `ocrtune data synth --latex` with the clean and the handwriting profile, before and after
# fine-tuning on the handwriting profile's train split. Prints CER, LaTeX-token error rate and
# exact match per set; everything lands in $WORK. docs/latex-case.md has the figures of the default
# recipe (decoder-only full fine-tune: the encoder frozen, 300 steps of 4 formulas, LR 3e-4 cosine).
#
#   tools/latex_demo.sh                       # defaults below
#   STEPS=600 METHOD=lora tools/latex_demo.sh
#
# Steps already done in $WORK (datasets, evaluations, a finished run) are not redone: delete
# their folders to redo them.
#
# Needs: a release build (swift build -c release --product ocrtune), TeX + dvipng, and the
# converted model (python3 tools/convert_latex_ocr_junia.py convert --package DIR --out $MODEL,
# DIR holding the unpacked latex-ocr-junia 0.1.3 wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

OCRTUNE=${OCRTUNE:-.build/release/ocrtune}
MODEL=${MODEL:-/work/models/latex-ocr-junia}
WORK=${WORK:-/tmp/latex-demo}
COUNT=${COUNT:-1000}          # training formulas (handwriting profile; 90/10 train/val)
TEST_COUNT=${TEST_COUNT:-64}  # test formulas (none of them a training formula), typeset with both profiles
STEPS=${STEPS:-300}           # optimizer steps of the fine-tune
METHOD=${METHOD:-full}        # full or lora
FREEZE=${FREEZE-encoder}      # parameter groups kept frozen (encoder, decoder, head; FREEZE= for none)
LR=${LR:-3e-4}
BATCH=${BATCH:-4}
PYTHON=${PYTHON:-python3}

mkdir -p "$WORK"
"$PYTHON" tools/latex_formulas.py "$COUNT" 1 > "$WORK/formulas-train.txt"
"$PYTHON" tools/latex_formulas.py "$TEST_COUNT" 2 "$WORK/formulas-train.txt" > "$WORK/formulas-test.txt"

[ -f "$WORK/train-handwriting/dataset.json" ] || "$OCRTUNE" data synth --latex "$WORK/formulas-train.txt" \
    --profile handwriting --seed 7 --split 90,10,0 --out "$WORK/train-handwriting" --overwrite
# The same test formulas typeset with each profile.
for profile in clean handwriting; do
    [ -f "$WORK/latex-$profile/dataset.json" ] || "$OCRTUNE" data synth --latex "$WORK/formulas-test.txt" \
        --profile "$profile" --seed 8 --split 0,0,100 --out "$WORK/latex-$profile" --overwrite
done

evaluate() {  # model, tag
    for profile in clean handwriting; do
        [ -f "$WORK/eval-$2-$profile/predictions.jsonl" ] || \
            "$OCRTUNE" eval --model "$1" --data "$WORK/latex-$profile" --split test --out "$WORK/eval-$2-$profile"
        "$OCRTUNE" score "$WORK/eval-$2-$profile/predictions.jsonl" --latex > "$WORK/eval-$2-$profile/score-latex.json"
    done
}

evaluate "$MODEL" before
[ -f "$WORK/run/model/config.json" ] || "$OCRTUNE" train --model "$MODEL" --data "$WORK/train-handwriting" \
    --out "$WORK/run" --method "$METHOD" ${FREEZE:+--freeze "$FREEZE"} --max-steps "$STEPS" --batch-size "$BATCH" \
    --learning-rate "$LR" --warmup-steps 10 --eval-every 100 --eval-samples 16 --save-every 100 --seed 1
evaluate "$WORK/run/model" after

"$PYTHON" - "$WORK" <<'EOF'
import json, sys
work = sys.argv[1]
# CER and exact match on the raw strings; TER (Σ token edits / Σ reference tokens) and exact match on
# normalized LaTeX tokens (formatting removed: see LaTeX.normalizedTokens).
print(f"{'set':<24}{'n':>4}{'CER':>10}{'exact':>8}{'LaTeX TER':>11}{'exact (norm)':>14}")
for tag in ["before", "after"]:
    for profile in ["clean", "handwriting"]:
        r = json.load(open(f"{work}/eval-{tag}-{profile}/score-latex.json"))
        latex = r["latex"]
        print(f"{tag + ' / ' + profile:<24}{latex['count']:>4}{r['cer'] * 100:9.2f}%{r['exact_match'] * 100:7.1f}%"
              f"{latex['token_error_rate'] * 100:10.2f}%{latex['exact_match'] * 100:13.1f}%")
EOF
