#!/usr/bin/env bash
# The proofs of issue #20: every export read by the runtime its deployers use, results merged into
# bench/results/export.json (tools/check_export.py --record). Dev tool, outside `make test`.
#
#   OCRTUNE=.build/release/ocrtune TORCH_PY=/path/python GGUF_PY=/path/python tools/export_proof.sh
#
# TORCH_PY: a Python with torch, transformers >= 5, peft, onnxruntime, rapidocr and python-bidi.
# GGUF_PY: a Python with gguf (and llama-cpp-python for the llama.cpp runs, skipped without it). MLX_PY: a Python with
# mlx-vlm (mlx runs on Linux's CPU too); skipped when unset. The RapidOCR proof needs
# the demo's fine-tuned model (runs/demo-persian, .demo/fa: `make demo`) and is skipped without it.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${OCRTUNE:-.build/release/ocrtune}
TORCH_PY=${TORCH_PY:-python3}
GGUF_PY=${GGUF_PY:-python3}
W=${WORK:-bench/work/export}
M=Tests/OCRModelsTests/Fixtures
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$W"
say() { printf '\n== %s\n' "$*"; }

say "tiny dataset and LoRA runs (TrOCR, Qwen2.5-VL fixtures)"
printf '%s\n' "the quick brown fox" "ocr line text" "invoice 2024" "total 19.99" "export check" "lazy dog" \
  "model date" "jumps over" "text model export" "line 42" > "$W/corpus.txt"
"$B" data synth --corpus "$W/corpus.txt" --words --word-range 1-3 --font "DejaVu Sans" --profile clean --count 60 --seed 3 --split 70,10,20 \
  --out "$W/en" --overwrite > /dev/null
"$B" data export "$W/en" --format jsonl --out "$W/en-jsonl" > /dev/null
"$B" train --model $M/trocr-vit --data "$W/en" --out "$W/run-trocr" --method lora --max-steps 8 --eval-every 0 \
  --batch-size 4 --learning-rate 5e-3 --overwrite > /dev/null
"$B" train --model $M/qwen2_5_vl-tiny --data "$W/en" --out "$W/run-qwen" --method lora --max-steps 4 --eval-every 0 \
  --batch-size 2 --learning-rate 5e-3 --overwrite > /dev/null

say "hf: from_pretrained and the same logits"
"$B" export $M/trocr-vit --format hf --out "$W/hf-trocr" > /dev/null
"$B" export $M/qwen2_5_vl-tiny --format hf --out "$W/hf-qwen25" > /dev/null
"$B" export $M/qwen3_vl-tiny --format hf --out "$W/hf-qwen3" > /dev/null
"$B" export "$W/run-trocr" --format hf --out "$W/hf-run-trocr" > /dev/null
"$B" export "$W/run-qwen" --format hf --out "$W/hf-run-qwen" > /dev/null
$TORCH_PY tools/check_export.py hf --export "$W/hf-trocr" --reference $M/trocr-vit --record hf_trocr_vit_tiny
$TORCH_PY tools/check_export.py hf --export "$W/hf-qwen25" --reference $M/qwen2_5_vl-tiny --record hf_qwen2_5_vl_tiny
$TORCH_PY tools/check_export.py hf --export "$W/hf-qwen3" --reference $M/qwen3_vl-tiny --record hf_qwen3_vl_tiny
# DeepSeek-OCR 2 from transformers' own key layout: written in the original names transformers loads.
rm -rf "$W/hf-deepseek2" && "$B" export $M/deepseek_ocr2-tiny/transformers-layout --format hf --out "$W/hf-deepseek2" > /dev/null
$TORCH_PY tools/check_export.py hf --export "$W/hf-deepseek2" --reference $M/deepseek_ocr2-tiny --record hf_deepseek_ocr2_tiny

say "peft: the adapter in peft equals the merged hf export"
"$B" export "$W/run-trocr" --format peft --out "$W/peft-run-trocr" > /dev/null
"$B" export "$W/run-qwen" --format peft --out "$W/peft-run-qwen" > /dev/null
$TORCH_PY tools/check_export.py peft --export "$W/peft-run-trocr" --base $M/trocr-vit --merged "$W/hf-run-trocr" --record peft_trocr_vit_tiny_run
$TORCH_PY tools/check_export.py peft --export "$W/peft-run-qwen" --base $M/qwen2_5_vl-tiny --merged "$W/hf-run-qwen" --record peft_qwen2_5_vl_tiny_run

say "TrOCR ONNX: onnxruntime's greedy decoding against transformers' generate; each variant's CER"
"$B" export "$W/run-trocr" --format onnx --quantize fp32,fp16,int8,uint8,q4 --out "$W/onnx-run-trocr" > /dev/null
$TORCH_PY tools/check_export.py trocr-onnx --model "$W/hf-run-trocr" --export "$W/onnx-run-trocr" --listing "$W/en-jsonl" \
  --record onnx_trocr_vit_tiny_run || true
# (trocr-deit: transformers 5.23 leaves its sinusoidal position table on the meta device after
# from_pretrained, so generate fails there; the Swift test covers it against ocrtune.)
for m in trocr-beit; do
  "$B" export $M/$m --format onnx --out "$W/onnx-$m" > /dev/null
  $TORCH_PY tools/check_export.py trocr-onnx --model $M/$m --export "$W/onnx-$m" --listing "$W/en-jsonl" --variants fp32 \
    --record "onnx_${m//-/_}_tiny"
done

if [ -n "${LATEX_PKG:-}" ] && [ -n "${LATEX_MODEL:-}" ]; then
  # LATEX_PKG: an unpacked latex-ocr-junia 0.1.3 wheel; LATEX_MODEL: its conversion
  # (tools/convert_latex_ocr_junia.py convert --package "$LATEX_PKG" --out DIR).
  say "latex-ocr-junia ONNX: onnxruntime's greedy decoding against the package's generate"
  printf '%s\n' 'x^{2}+y^{2}=z^{2}' '\frac{a}{b}+\frac{c}{d}' '\int_{0}^{1} f(x)\,dx' 'e^{i\pi}+1=0' '\sqrt{x+1}-\sqrt{x}' \
    '\alpha+\beta=\gamma' 'a_{n+1}=2a_{n}+1' '(a+b)^{2}=a^{2}+2ab+b^{2}' > "$W/formulas.txt"
  "$B" data synth --latex "$W/formulas.txt" --dpi 150 --count 8 --seed 1 --split 0,0,100 --out "$W/formulas" --overwrite > /dev/null
  "$B" data export "$W/formulas" --format jsonl --out "$W/formulas-jsonl" > /dev/null
  rm -rf "$W/onnx-latex" && "$B" export "$LATEX_MODEL" --format onnx --quantize fp32,fp16,int8 --out "$W/onnx-latex" > /dev/null
  $TORCH_PY tools/check_export.py latex-onnx --export "$W/onnx-latex" --package "$LATEX_PKG" --listing "$W/formulas-jsonl" \
    --record onnx_latex_ocr_junia
fi

say "GGUF: gguf-py reads every tensor back"
for m in qwen2_5_vl qwen3_vl; do
  "$B" export $M/$m-tiny --format gguf --quantize f16,bf16,q8_0 --out "$W/gguf-$m" > /dev/null
done
$GGUF_PY tools/check_export.py gguf --export "$W/gguf-qwen2_5_vl" --reference "$W/hf-qwen25" --record gguf_qwen2_5_vl_tiny
$GGUF_PY tools/check_export.py gguf --export "$W/gguf-qwen3_vl" --reference "$W/hf-qwen3" --record gguf_qwen3_vl_tiny
# DeepSeek-OCR (v1) and DeepSeek-OCR 2: the fixtures are in the original key names the check maps back to.
for m in deepseek_ocr deepseek_ocr2; do
  "$B" export $M/$m-tiny --format gguf --quantize f16,bf16,q8_0 --out "$W/gguf-$m" > /dev/null
  $GGUF_PY tools/check_export.py gguf --export "$W/gguf-$m" --reference $M/$m-tiny --record "gguf_${m}_tiny"
done

if $GGUF_PY -c "import llama_cpp" 2> /dev/null; then
  say "llama.cpp: the DeepSeek language models' logits and greedy tokens on a text probe against transformers'"
  # (v1: tools/deepseek_ocr_reference.py.)
  for m in deepseek_ocr deepseek_ocr2; do
    $TORCH_PY tools/check_export.py logits --model $M/$m-tiny --out "$W/logits-$m.npy"
    $GGUF_PY tools/check_export.py llama --export "$W/gguf-$m" --reference-logits "$W/logits-$m.npy" --record "llama_${m}_tiny"
  done
  say "llama.cpp with the mmproj: a DeepSeek-OCR 2 with SAM-B's depth reads an image as ocrtune does"
  # clip.cpp hard-codes SAM-B's global layers (2, 5, 8, 11) and the encoder's rope theta: the tiny
  # fixture's 2-layer SAM cannot run there, so a probe with a 12-layer SAM is made for this.
  rm -rf "$W/ds2-probe" && $TORCH_PY tools/make_deepseek_gguf_probe.py "$W/ds2-probe"
  "$B" export "$W/ds2-probe" --format gguf --out "$W/gguf-ds2-probe" > /dev/null
  IMG=$M/deepseek_ocr2-tiny/images/image0.png
  OURS=$("$B" predict --model "$W/ds2-probe" --prompt "<image>
Free OCR." --max-new-tokens 12 --output-ids "$IMG")
  $GGUF_PY tools/check_export.py llama-image --export "$W/gguf-ds2-probe" --image "$IMG" --ocrtune-json "$OURS" \
    --record llama_mmproj_deepseek_ocr2_probe
  say "llama.cpp: Qwen2.5-VL's text logits; with the mmproj, the image path stage by stage against transformers and ocrtune"
  $TORCH_PY tools/check_export.py logits --model $M/qwen2_5_vl-tiny --out "$W/qwen2_5_vl-logits.npy"
  img=$M/qwen2_5_vl-tiny/images/image1.png
  text=$("$B" predict --model $M/qwen2_5_vl-tiny --prompt "Free OCR." --max-new-tokens 10 --json "$img" | $TORCH_PY -c "import json,sys; print(json.loads(sys.stdin.readline())['text'], end='')")
  # clip.cpp runs Qwen2.5-VL's window attention with 112-pixel windows whatever the mmproj says (the
  # fixture's are 56) and letterboxes the image where transformers stretches it: transformers'
  # reference at both windows, with the image stretched as it reads it (written beside the .npz) ...
  $TORCH_PY tools/check_export.py qwen-image-ref --model $M/qwen2_5_vl-tiny --image "$img" --out "$W/qwen2_5_vl-image1.npz"
  # ... and ocrtune with the fixture's window_size set to llama.cpp's, on that stretched image.
  rm -rf "$W/qwen2_5_vl-w112" && cp -r $M/qwen2_5_vl-tiny "$W/qwen2_5_vl-w112"
  $TORCH_PY -c "import json,sys; c=json.load(open(sys.argv[1])); c['vision_config']['window_size']=112; json.dump(c, open(sys.argv[1], 'w'), indent=2)" \
    "$W/qwen2_5_vl-w112/config.json"
  matched=$("$B" predict --model "$W/qwen2_5_vl-w112" --prompt "Free OCR." --max-new-tokens 10 --output-ids "$W/qwen2_5_vl-image1.png")
  $GGUF_PY tools/check_export.py llama --export "$W/gguf-qwen2_5_vl" --reference-logits "$W/qwen2_5_vl-logits.npy" --image "$img" \
    --ocrtune-text "$text" --image-reference "$W/qwen2_5_vl-image1.npz" --ocrtune-matched-json "$matched" --record llama_cpp_qwen2_5_vl_tiny
  say "llama.cpp: Qwen3-VL's text logits; with the mmproj, the image path stage by stage against transformers and ocrtune"
  # The mmproj is written as llama.cpp's converter writes it (v.position_embd.weight in F32, fused
  # v.blk.N.attn_qkv: clip.cpp aborted or crashed on the earlier layout; the check would rewrite one). The
  # qwen3vl graph aborts on batched prompts when deepstack reaches the last language layer (the fixture:
  # 2 and 2), so the fixture's prompt is fed one token per batch, and a probe with a third language layer
  # runs batched. No transformers window to match; the stretched image is given to llama.cpp and ocrtune.
  rm -rf "$W/qwen3_vl-probe" && $TORCH_PY tools/make_qwen3_vl_gguf_probe.py "$W/qwen3_vl-probe"
  img=$M/qwen3_vl-tiny/images/image1.png
  for q in tiny probe; do
    model=$M/qwen3_vl-tiny gguf="$W/gguf-qwen3_vl" record=llama_cpp_qwen3_vl_tiny
    if [ $q = probe ]; then
      model="$W/qwen3_vl-probe" gguf="$W/gguf-qwen3_vl-probe" record=llama_cpp_qwen3_vl_probe_3_layers
      "$B" export "$model" --format gguf --quantize f16 --out "$gguf" > /dev/null
    fi
    $TORCH_PY tools/check_export.py logits --model "$model" --out "$W/qwen3_vl-$q-logits.npy"
    $TORCH_PY tools/check_export.py qwen-image-ref --model "$model" --image "$img" --out "$W/qwen3_vl-$q-image1.npz"
    matched=$("$B" predict --model "$model" --prompt "Free OCR." --max-new-tokens 10 --output-ids "$W/qwen3_vl-$q-image1.png")
    $GGUF_PY tools/check_export.py llama --export "$gguf" --reference-logits "$W/qwen3_vl-$q-logits.npy" --image "$img" \
      --image-reference "$W/qwen3_vl-$q-image1.npz" --ocrtune-matched-json "$matched" --record $record
  done
fi

if [ -n "${MLX_PY:-}" ]; then
  say "mlx: mlx-vlm loads the folders; logits against transformers'"
  for m in qwen2_5_vl qwen3_vl; do
    $TORCH_PY tools/check_export.py logits --model $M/$m-tiny --out "$W/logits-$m.npy"
    for q in none 4; do
      "$B" export $M/$m-tiny --format mlx --quantize $q --out "$W/mlx-$m-$q" > /dev/null
      $MLX_PY tools/check_export.py mlx --export "$W/mlx-$m-$q" --reference-logits "$W/logits-$m.npy" --record "mlx_${m}_tiny_$q"
    done
  done
fi

if [ -d runs/demo-persian/model ] && [ -d .demo/fa ]; then
  say "PP-OCR: the demo's Persian model in RapidOCR against ocrtune eval"
  "$B" export runs/demo-persian --format onnx --quantize fp32,fp16 --out "$W/onnx-demo-fa" --check .demo/fa --split test
  cp "$W/onnx-demo-fa/export-check.json" bench/results/export-check-demo-fa.json
  "$B" export runs/demo-persian --format hf --out "$W/hf-demo-fa" > /dev/null
  $TORCH_PY tools/check_export.py hf --export "$W/hf-demo-fa" --reference "$W/onnx-demo-fa" --record hf_ppocrv5_demo_fa
  "$B" data export .demo/fa --format jsonl --out "$W/fa-jsonl" > /dev/null
  # One image per call, as RapidOCR reads them (a batch pads every line to its widest).
  "$B" eval --model runs/demo-persian/model --data .demo/fa --split test --batch-size 1 --out "$W/eval-fa" > /dev/null
  $TORCH_PY tools/check_export.py rapidocr --export "$W/onnx-demo-fa" --listing "$W/fa-jsonl" --split test --eval "$W/eval-fa" \
    --rtl --record rapidocr_ppocrv5_demo_fa
  # The same export on the held-out Chinese lines (left to right: no reordering in either).
  "$B" data export .demo/zh --format jsonl --out "$W/zh-jsonl" > /dev/null
  "$B" eval --model runs/demo-persian/model --data .demo/zh --split test --batch-size 1 --out "$W/eval-zh" > /dev/null
  $TORCH_PY tools/check_export.py rapidocr --export "$W/onnx-demo-fa" --listing "$W/zh-jsonl" --split test --eval "$W/eval-zh" \
    --record rapidocr_ppocrv5_demo_zh
fi
