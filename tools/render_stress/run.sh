#!/usr/bin/env bash
# Builds tools/render_stress/render_stress.c against Sources/CRender/crender_text.c (the product's
# rendering code, from source) and runs it RUNS times; each run must exit 0 within TIMEOUT seconds
# and print the same checksum as a 1-thread run. Usage:
#   tools/render_stress/run.sh [RUNS=5] [THREADS=8] [LINES=4000] [TIMEOUT=600]
# Extra render_stress flags go in STRESS_FLAGS (e.g. STRESS_FLAGS="--lang zh"). Exit 1 on any crash,
# hang or checksum mismatch.
set -u
cd "$(dirname "$0")/../.."
RUNS=${1:-5} THREADS=${2:-8} LINES=${3:-4000} TIMEOUT=${4:-600}
BIN=${BIN:-/tmp/ocrtune-render-stress}
cc -O2 -g -Wall -o "$BIN" tools/render_stress/render_stress.c Sources/CRender/crender_text.c \
  -ISources/CRender/include $(pkg-config --cflags --libs pangocairo fontconfig) -lm -lpthread || exit 2
ref=$(timeout "$TIMEOUT" "$BIN" --threads 1 --lines "$LINES" --seed 1 ${STRESS_FLAGS:-}) || { echo "1-thread reference failed"; exit 2; }
echo "reference: $ref"
want=$(sed -n 's/.*checksum \([0-9a-f]*\).*/\1/p' <<<"$ref")
fail=0
for i in $(seq 1 "$RUNS"); do
  out=$(timeout "$TIMEOUT" "$BIN" --threads "$THREADS" --lines "$LINES" --seed 1 ${STRESS_FLAGS:-} 2>&1); rc=$?
  got=$(sed -n 's/.*checksum \([0-9a-f]*\).*/\1/p' <<<"$out")
  if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then echo "run $i: ok: $out"
  else fail=$((fail + 1)); echo "run $i: FAILED (rc $rc$([ $rc -eq 124 ] && echo ', hung'), checksum ${got:-none}): $out"; fi
done
echo "$((RUNS - fail))/$RUNS runs passed"
[ $fail -eq 0 ]
