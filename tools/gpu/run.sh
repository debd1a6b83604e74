#!/usr/bin/env bash
# One GPU run of ocrtune from the parts tools/gpu/package.sh wrote into .gpu/ (see .gpu/CALLS for
# the device calls). Everything it measures goes into $OUT (the device tool's output folder; else
# .gpu/out): one log per step, summary.json, gpu.json.
#
#   tools/gpu/run.sh --receive                 a parts-only call: says which parts are here
#   tools/gpu/run.sh [--device gpu|cpu] [--quick] [--skip-tests] [--skip-bench] [--reuse]
#
# --reuse keeps the bundle a previous call on the same machine unpacked (the last two device calls:
# tests, then benchmarks, each inside one call's 10 minutes).
#
# Steps: unpack and check (sha256) the bundle; point the loader at it and at the machine's CUDA
# libraries (PyTorch's nvidia-* packages); `ocrtune doctor --device gpu`; the GPU-relevant test
# suites (MLX's CUDA build makes the GPU the default device, so the XCTests run there: engine ops
# and gradients incl. DeviceParityTests GPU-vs-CPU, layers, optimizers, trainer, every family's
# parity with transformers' fixtures, LoRA steps); then tools/gpu/bench_gpu.py (ours vs PyTorch,
# same run). --device cpu runs the same steps on this CPU with a --mlx cpu bundle, --quick with
# short benchmarks: the rehearsal before spending GPU time.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

DEVICE=gpu
QUICK=0
TESTS=1
BENCH=1
RECEIVE=0
REUSE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --skip-tests) TESTS=0; shift ;;
    --skip-bench) BENCH=0; shift ;;
    --receive) RECEIVE=1; shift ;;
    --reuse) REUSE=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-$ROOT/.gpu/out}"
mkdir -p "$OUT"

if [ "$RECEIVE" = 1 ]; then
  ls -la .gpu/ 2>&1 | tee "$OUT/received.txt"
  exit 0
fi

# MARK: - Unpack
[ -f .gpu/bundle.sha256 ] || { echo "run.sh: .gpu/bundle.sha256 is missing (carry it in the last call)" >&2; exit 1; }
missing=0
for part in $(tail -n +2 .gpu/bundle.sha256); do
  [ -f ".gpu/$part" ] || { echo "run.sh: .gpu/$part is missing: the machine was given back between the calls, or a call did not carry it" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
WORK="${TMPDIR:-/tmp}/ocrtune-gpu-run"
B="$WORK/ocrtune-gpu"
if [ "$REUSE" = 1 ] && cmp -s "$B/MANIFEST" .gpu/MANIFEST; then
  echo "reusing the bundle unpacked in $B"
else
  rm -rf "$WORK" && mkdir -p "$WORK"
  (cd .gpu && cat $(tail -n +2 bundle.sha256)) > "$WORK/bundle.tar.xz"
  (cd "$WORK" && head -1 "$ROOT/.gpu/bundle.sha256" | sha256sum -c --quiet) || { echo "run.sh: the parts do not add up to the bundle (sha256)" >&2; exit 1; }
  tar -C "$WORK" -xJf "$WORK/bundle.tar.xz" && rm "$WORK/bundle.tar.xz"
fi
head -3 "$B/MANIFEST" | tee "$OUT/manifest.txt"

# MARK: - Loader
cuda_dirs=""
if [ "$DEVICE" = gpu ]; then
  site="$(python3 -c 'import os, nvidia; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null || true)"
  for d in "$site"/nvidia/*/lib "$site"/nvidia/cu13/lib /usr/local/cuda/lib64; do
    [ -d "$d" ] && cuda_dirs="$cuda_dirs:$d"
  done
fi
export LD_LIBRARY_PATH="$B/mlx:$B/lib$cuda_dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" > "$OUT/loader.txt"
ldd "$B/bin/ocrtune" "$B/mlx/libmlx.so" >> "$OUT/loader.txt" 2>&1
if grep -q "not found" "$OUT/loader.txt"; then
  echo "run.sh: libraries not found (see loader.txt):" >&2; grep "not found" "$OUT/loader.txt" | sort -u >&2
fi
[ "$DEVICE" = gpu ] && { nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1; nvidia-smi -L; }

STEPS=()
step() {  # step NAME TIMEOUT_S COMMAND...: runs, logs to $OUT/NAME.log, records status and seconds
  local name="$1" limit="$2"; shift 2
  local start=$SECONDS
  echo "== $name"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  tail -4 "$OUT/$name.log"
  STEPS+=("{\"step\": \"$name\", \"rc\": $rc, \"seconds\": $((SECONDS - start))}")
  return $rc
}

# MARK: - Doctor
step doctor 120 "$B/bin/ocrtune" doctor --device "$DEVICE"

# MARK: - Tests
if [ "$TESTS" = 1 ]; then
  # Fixtures are found by the paths the tests were compiled at, resource bundles beside the binary.
  source_root="$(sed -n 's/^source_root //p' "$B/MANIFEST")"
  if [ "$source_root" != "$ROOT" ] && [ ! -e "$source_root" ]; then
    mkdir -p "$(dirname "$source_root")" && ln -s "$ROOT" "$source_root"
  fi
  while read -r bundle; do
    target="${bundle#ocrtune_}"; target="${target%.resources}"
    mkdir -p "$B/bin/$bundle" && ln -sfn "$ROOT/Tests/$target/Fixtures" "$B/bin/$bundle/Fixtures"
  done < "$B/bin/resource-bundles.txt"
  modules='^(MLXEngineTests|MLXNNTests|MLXOptimizersTests|OCRTrainingTests|OCRModelsTests|OCRFineTuneTests)\.'
  classes="$("$B/bin/ocrtunePackageTests.xctest" --list-tests 2>/dev/null | grep -E "$modules" | cut -d/ -f1 | sort -u | paste -sd,)"
  step tests 540 "$B/bin/ocrtunePackageTests.xctest" "$classes"
  grep -E "error:|failed \(" "$OUT/tests.log" | head -40 > "$OUT/test-failures.txt"
fi

# MARK: - Benchmarks
if [ "$BENCH" = 1 ]; then
  PYBIN=python3
  if [ "$DEVICE" = gpu ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" "$B"/wheels/*.whl > "$OUT/wheels.log" 2>&1
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
  else
    [ -x /work/torchvenv/bin/python ] && PYBIN=/work/torchvenv/bin/python
  fi
  quick=(); [ "$QUICK" = 1 ] && quick=(--quick)
  step bench 560 "$PYBIN" tools/gpu/bench_gpu.py --bundle "$B" --device "$DEVICE" --out "$OUT" "${quick[@]}"
fi

# MARK: - Summary
{
  echo "{\"device\": \"$DEVICE\", \"steps\": ["
  (IFS=,; echo "${STEPS[*]}")
  echo "]}"
} > "$OUT/summary.json"
cat "$OUT/summary.json"
