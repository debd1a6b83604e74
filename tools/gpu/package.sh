#!/usr/bin/env bash
# Packs everything one GPU run needs into .gpu/ (git-ignored), in parts small enough for the device
# tool (64 MiB per call, the working tree's ~20 MB included), and writes the calls to make.
#
#   tools/gpu/package.sh [--mlx cuda|cpu] [--part-mb 40] [--skip-build]
#
# What travels (one tar.xz, split into .gpu/part-NN):
#   bin/   release ocrtune and the bench runners (TrainBench, PPOCRBench, QwenVLBench,
#          DeepSeekOCRBench), the debug test bundle (ocrtunePackageTests.xctest), all stripped.
#   lib/   every shared library they load that a bare CUDA image may lack: the Swift runtime
#          (Foundation, ICU, XCTest, dispatch), Arrow/Parquet and onnxruntime from the wheels,
#          Pango/Cairo and the image codecs. Not glibc, libstdc++ or libgcc_s: the machine's own,
#          newer ones serve (libmlx's CUDA build needs at least GLIBCXX_3.4.30).
#   mlx/   --mlx cuda (the default): libmlx.so of the mlx-cuda-13 0.32.4 wheel, the same C++ API
#          the product is built against, stripped of its symbol table (146 MB -> 119 MB; about
#          69 MB as xz, more than one call carries, hence the parts) and its bundled BLAS/LAPACK.
#          Its CUDA dependencies (cuBLAS 13, cuDNN 9, NCCL, NVRTC 13, cuFFT, cuSOLVER) are
#          PyTorch's nvidia-* packages on the machine; run.sh points the loader at them.
#          --mlx cpu: the mlx-cpu wheel's libmlx, to prove the whole route on this CPU machine.
#   work/  inputs made here, where fonts and the pip weights are: the PP-OCRv5 model folder
#          (`ocrtune import ppocr`) and 64 rendered training lines; the transformers 5.23 wheel
#          for the PyTorch peers (the machine has 5.17, without PP-OCRv5 and DeepSeek-OCR 2).
#
# The leaner route than --static-swift-stdlib: five executables share one copy of the Swift
# runtime (ICU alone is 40 MB) instead of five statically linked copies, and the release build
# already made for `make bench` is reused as is.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

MLX=cuda
PART_MB=40
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --mlx) MLX="$2"; shift 2 ;;
    --part-mb) PART_MB="$2"; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$MLX" in cuda|cpu) ;; *) echo "package.sh: --mlx must be cuda or cpu" >&2; exit 2 ;; esac

PY=python3  # with .deps/bench (numpy, pillow, opencv), which the bench scripts put on their path
BENCHES=(TrainBench PPOCRBench QwenVLBench DeepSeekOCRBench)

# MARK: - Build
if [ "$BUILD" = 1 ]; then
  for product in ocrtune "${BENCHES[@]}"; do
    echo "== swift build -c release --product $product"
    swift build -c release --product "$product" -j 2 2>&1 | tail -2
  done
  echo "== swift build --product ocrtunePackageTests (debug test bundle)"
  swift build --product ocrtunePackageTests -j 2 2>&1 | tail -2
fi

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
B="$STAGE/ocrtune-gpu"
mkdir -p "$B/bin" "$B/lib" "$B/mlx" "$B/work" "$B/wheels"

# MARK: - Executables
for product in ocrtune "${BENCHES[@]}"; do
  strip -o "$B/bin/$product" ".build/release/$product"
done
strip -o "$B/bin/ocrtunePackageTests.xctest" .build/debug/ocrtunePackageTests.xctest
# The test bundle finds its fixtures by the source paths it was compiled with (#filePath) and its
# resource bundles beside itself; run.sh recreates both from the repository that travels.
(cd .build/debug && ls -d ocrtune_*.resources) > "$B/bin/resource-bundles.txt"

# MARK: - Shared libraries
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libutil|libstdc\+\+|libgcc_s|libmlx\.so)'
for exe in "$B"/bin/*; do
  [ -x "$exe" ] || continue
  ldd "$exe" | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  if ! [[ "$name" =~ $skip ]] && ! [[ "$path" == *"/mlx_cpu.libs/"* ]]; then cp -L "$path" "$B/lib/$name"; fi
done
for exe in "$B"/bin/*; do
  if [ -x "$exe" ] && ldd "$exe" | grep -q "not found"; then
    echo "package.sh: a library of $exe is missing here:" >&2; ldd "$exe" | grep "not found" >&2; exit 1
  fi
done

# MARK: - MLX
if [ "$MLX" = cuda ]; then
  WHEEL_DIR="$ROOT/.deps/gpu"
  mkdir -p "$WHEEL_DIR"
  wheel="$(ls "$WHEEL_DIR"/mlx_cuda_13-0.32.4-*.whl 2>/dev/null | head -1 || true)"
  if [ -z "$wheel" ]; then
    python3 -m pip download --no-deps --only-binary=:all: --platform manylinux_2_35_x86_64 \
      -d "$WHEEL_DIR" mlx-cuda-13==0.32.4 >/dev/null
    wheel="$(ls "$WHEEL_DIR"/mlx_cuda_13-0.32.4-*.whl | head -1)"
  fi
  unzip -q -o "$wheel" 'mlx/lib/libmlx.so' 'mlx_cuda_13.libs/*' -d "$STAGE/wheel"
  strip --strip-unneeded -o "$B/mlx/libmlx.so" "$STAGE/wheel/mlx/lib/libmlx.so"
  cp "$STAGE"/wheel/mlx_cuda_13.libs/* "$B/mlx/"
else
  cp -L .deps/python/mlx/lib/libmlx.so "$B/mlx/libmlx.so"
  cp -L .deps/python/mlx_cpu.libs/* "$B/mlx/" 2>/dev/null || true
fi

# MARK: - Inputs and peer wheels
OCRTUNE_BIN="$ROOT/.build/release/ocrtune" "$PY" - "$B/work" <<'EOF'
import os, sys
sys.path[:0] = ["bench", "tools"]
import ppocr_common as pc
import train
work = sys.argv[1]
model = pc.import_model("v5", os.path.join("bench", "work", "train", "models", "pp_ocrv5"))
os.system(f"cp -r {model} {work}/pp_ocrv5")
train.make_inputs(model, 64, 11, os.path.join(work, "train-lines.safetensors"))
EOF
python3 -m pip download --no-deps --only-binary=:all: -d "$B/wheels" transformers==5.23.0 >/dev/null

# MARK: - Manifest, archive, parts
{
  echo "built $(date -u +%Y-%m-%dT%H:%MZ) from $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
  echo "source_root $ROOT"
  echo "mlx $MLX"
  (cd "$B" && find . -type f -printf '%s %p\n' | sort -k2)
} > "$B/MANIFEST"
rm -rf .gpu/part-* .gpu/bundle.sha256 .gpu/out
mkdir -p .gpu
echo "== xz (a few minutes)"
tar -C "$STAGE" -cf - ocrtune-gpu | xz -T2 -9 > "$STAGE/bundle.tar.xz"
split -b "${PART_MB}M" -d -a 2 "$STAGE/bundle.tar.xz" .gpu/part-
(cd .gpu && { sha256sum "$STAGE/bundle.tar.xz" | awk '{print $1"  bundle.tar.xz"}'; ls part-*; } > bundle.sha256)
cp "$B/MANIFEST" .gpu/MANIFEST

parts=(.gpu/part-*)
{
  echo "# The device calls for this bundle ($MLX, ${#parts[@]} parts), back to back: a machine goes back 30 s after a call."
  last=$((${#parts[@]} - 1))
  for i in "${!parts[@]}"; do
    if [ "$i" -lt "$last" ]; then
      echo "run carry=[\"${parts[$i]}\"] command=\"tools/gpu/run.sh --receive\" timeout_s=120"
    else
      echo "run carry=[\"${parts[$i]}\", \".gpu/bundle.sha256\", \".gpu/MANIFEST\"] command=\"tools/gpu/run.sh --device gpu --skip-bench\" timeout_s=590"
      echo "run carry=[] command=\"tools/gpu/run.sh --device gpu --reuse --skip-tests\" timeout_s=590"
    fi
  done
} > .gpu/CALLS
ls -la .gpu
cat .gpu/CALLS
