# ocrtune — the two commands are `make demo` and `make test`; each sets up what it needs.
#
#   make setup     install Debian packages and wheels into .deps/ (idempotent)
#   make build     release build at .build/release/ocrtune
#   make test      the whole test suite (swift test)
#   make bench     benchmarks → bench/results/*.json (ratios against peers, same run)
#                  (OCRTUNE_TORCH_PYTHON=PY: a python with torch + transformers + peft for the Qwen-VL peer)
#   make demo      the end-to-end demo
#   make fuzz      libFuzzer targets for the parsers of untrusted input → bench/results/fuzz.json
#                  (FUZZ_RUNS=1000000 FUZZ_MAX_TIME=600 per target; FUZZ_TARGETS="safetensors ...")
#   make test-asan the test suite under AddressSanitizer + UBSan (build in .build/asan) → bench/results/sanitizers.json
#                  (TEST_FILTER='OCRSupportTests|SafeTensorsTests' runs a part; the filter is recorded)
#   make test-tsan the CPU kernels and their thread pool under ThreadSanitizer (same file)
#   make install   PREFIX=/usr/local: the binary plus the MLX runtime it needs

PREFIX ?= /usr/local
SWIFT ?= swift
JOBS ?= $(shell nproc)
RELEASE_BIN := .build/release/ocrtune
MLX_DIR := .deps/python

.PHONY: all setup build test test-asan test-tsan bench demo install clean fuzz fuzz-build

all: build

setup:
	@tools/setup.sh

build: setup
	$(SWIFT) build -c release --product ocrtune -j $(JOBS)

# The test bundle only: `--build-tests` would also build swift-protobuf's protoc (C++, ~30 min).
# The CLI too: the serving test runs a real `ocrtune serve`.
test: setup
	$(SWIFT) build --product ocrtunePackageTests -j $(JOBS)
	$(SWIFT) build --product ocrtune -j $(JOBS)
	$(SWIFT) test --skip-build

# The test bundle with AddressSanitizer everywhere and UndefinedBehaviorSanitizer on the C/C++
# targets, in its own build path; bench/sanitizers.py builds, runs and records (see its header).
TEST_FILTER ?=
test-asan: setup
	python3 bench/sanitizers.py --jobs $(JOBS) $(if $(TEST_FILTER),--filter '$(TEST_FILTER)')

# The kernels and their thread pool under ThreadSanitizer (tools/tsan/), recorded in the same file.
test-tsan: setup
	python3 bench/sanitizers.py --tsan --jobs $(JOBS)

BENCH_DEPS := .deps/bench

bench: setup $(BENCH_DEPS)/.installed
	for p in EngineBench MetricsBench SynthBench DataBench PPOCRBench TrainBench QwenVLBench DeepSeekOCRBench DistributedBench ocrtune; do $(SWIFT) build -c release --product $$p -j $(JOBS) || exit 1; done
	python3 bench/engine.py
	python3 bench/metrics.py
	python3 bench/synth.py
	python3 bench/data.py
	python3 bench/ppocr.py
	python3 bench/train.py
	python3 bench/distributed.py
	python3 bench/demo.py
	python3 bench/qwenvl.py  # peer: set OCRTUNE_TORCH_PYTHON to a python with torch, transformers, peft
	python3 bench/deepseek_ocr.py  # same peer
	[ -z "$$BENCH_TORCH_PYTHON" ] || python3 bench/transformers_cpu.py  # latex-ocr-junia vs its package (torch)

$(BENCH_DEPS)/.installed: bench/requirements.txt
	python3 -m pip install -q --disable-pip-version-check --target $(BENCH_DEPS) -r bench/requirements.txt
	touch $@

demo: build
	$(RELEASE_BIN) doctor
	tools/demo.sh

install: build
	install -d $(PREFIX)/bin $(PREFIX)/lib/ocrtune/mlx/lib $(PREFIX)/lib/ocrtune/mlx_cpu.libs $(PREFIX)/lib/ocrtune/pyarrow $(PREFIX)/lib/ocrtune/onnxruntime
	install -m 755 $(RELEASE_BIN) $(PREFIX)/bin/ocrtune
	cp -P $(MLX_DIR)/mlx/lib/libmlx.so $(PREFIX)/lib/ocrtune/mlx/lib/
	cp -P $(MLX_DIR)/mlx_cpu.libs/*.so* $(PREFIX)/lib/ocrtune/mlx_cpu.libs/
	cp -L $(MLX_DIR)/pyarrow/libarrow.so.* $(MLX_DIR)/pyarrow/libparquet.so.* $(PREFIX)/lib/ocrtune/pyarrow/
	cp -L $(MLX_DIR)/onnxruntime/capi/libonnxruntime.so.1 $(PREFIX)/lib/ocrtune/onnxruntime/
	@echo "installed $(PREFIX)/bin/ocrtune (MLX runtime in $(PREFIX)/lib/ocrtune)"

clean:
	rm -rf .build

# MARK: Fuzzing (libFuzzer + AddressSanitizer; see Fuzz/README.md)
# Built outside SwiftPM so that no product of `make test` is instrumented: the C shim with the
# toolchain's clang, the Swift parsers by compiling their sources together with a small
# LLVMFuzzerTestOneInput under the module's own name.
FUZZ_BUILD := .build/fuzz
FUZZ_CC ?= $(dir $(shell command -v swiftc))clang
FUZZ_SWIFTC ?= swiftc
FUZZ_CFLAGS := -g -O1 -fuse-ld=lld -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SWIFTFLAGS := -g -O -use-ld=lld -sanitize=fuzzer,address -parse-as-library -suppress-warnings
FUZZ_RUNS ?= 1000000
FUZZ_MAX_TIME ?= 600
IMAGE_FORMATS := png jpeg webp tiff gif bmp
FUZZ_TARGETS ?= $(IMAGE_FORMATS:%=image_%) safetensors tokenizer chat_template toml chat_request data_url model_config dataset parquet onnx

fuzz: fuzz-build
	python3 bench/fuzz.py --runs $(FUZZ_RUNS) --max-time $(FUZZ_MAX_TIME) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/image_%: Fuzz/image/image_fuzz.c Sources/CImageCodecs/decode.c Sources/CImageCodecs/include/cimage_codecs.h
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_FORMAT=CIC_$(shell echo $* | tr a-z A-Z) -ISources/CImageCodecs/include \
	  -ISources/CImageCodecs Fuzz/image/image_fuzz.c Sources/CImageCodecs/decode.c -o $@ \
	  -lpng16 -ljpeg -lwebp -ltiff -lgif -lstb -lm

$(FUZZ_BUILD)/safetensors: Fuzz/safetensors/main.swift $(wildcard Sources/SafeTensors/*.swift)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name SafeTensors $^ -o $@

$(FUZZ_BUILD)/tokenizer: Fuzz/tokenizer/main.swift Fuzz/common/ScratchFile.swift $(wildcard Sources/OCRText/*.swift)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRText $^ -o $@

$(FUZZ_BUILD)/chat_template: Fuzz/chat_template/main.swift $(wildcard Sources/OCRText/*.swift)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRText $^ -o $@

$(FUZZ_BUILD)/toml: Fuzz/toml/main.swift Sources/OCRTraining/TOML.swift
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRTraining $^ -o $@

$(FUZZ_BUILD)/chat_request: Fuzz/chat_request/main.swift Sources/OCRServe/OpenAITypes.swift
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRServe $^ -o $@

$(FUZZ_BUILD)/data_url: Fuzz/data_url/main.swift Sources/OCRServe/ImagePayload.swift
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRServe $^ -o $@

# The families' config types, over the two small modules they import: MLXNN's activation names
# and OCRImaging's resampling filters (the rest of those libraries needs the engine / codec shim).
MODEL_CONFIG_STUBS := $(FUZZ_BUILD)/model_config_modules
$(MODEL_CONFIG_STUBS)/MLXNN.swiftmodule: Sources/MLXNN/StrictStringEnum.swift Sources/MLXNN/Activation.swift
	@mkdir -p $(MODEL_CONFIG_STUBS)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -emit-module -emit-library -static -module-name MLXNN $^ \
	  -emit-module-path $@ -o $(MODEL_CONFIG_STUBS)/libMLXNN.a
$(MODEL_CONFIG_STUBS)/OCRImaging.swiftmodule: Sources/OCRImaging/PillowResampling.swift
	@mkdir -p $(MODEL_CONFIG_STUBS)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -emit-module -emit-library -static -module-name OCRImaging $^ \
	  -emit-module-path $@ -o $(MODEL_CONFIG_STUBS)/libOCRImaging.a
$(FUZZ_BUILD)/model_config: Fuzz/model_config/main.swift $(wildcard Sources/OCRModels/*/*Config.swift) Sources/OCRModels/Common/ModelFolderError.swift \
		$(MODEL_CONFIG_STUBS)/MLXNN.swiftmodule $(MODEL_CONFIG_STUBS)/OCRImaging.swiftmodule
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRModels -I $(MODEL_CONFIG_STUBS) $(filter %.swift,$^) \
	  -L$(MODEL_CONFIG_STUBS) -lMLXNN -lOCRImaging -o $@

# The importers' file imports the Arrow shim: its C++ is compiled here (uninstrumented) and linked.
FUZZ_ARROW := .deps/python/pyarrow
$(FUZZ_BUILD)/CArrowShim/%.o: Sources/CArrowShim/%.cpp Sources/CArrowShim/include/carrow_shim.h
	@mkdir -p $(FUZZ_BUILD)/CArrowShim
	$(FUZZ_CC)++ -std=c++20 -O1 -g -fexceptions -D_GLIBCXX_USE_CXX11_ABI=1 -I$(FUZZ_ARROW)/include -ISources/CArrowShim/include -c $< -o $@

$(FUZZ_BUILD)/CArrowShim/module.modulemap:
	@mkdir -p $(FUZZ_BUILD)/CArrowShim
	printf 'module CArrowShim {\n  header "%s/Sources/CArrowShim/include/carrow_shim.h"\n  export *\n}\n' "$(CURDIR)" > $@

$(FUZZ_BUILD)/dataset $(FUZZ_BUILD)/parquet: $(FUZZ_BUILD)/%: Fuzz/%/main.swift Fuzz/common/ScratchFile.swift Sources/OCRData/Importers.swift Sources/OCRData/Sample.swift Sources/OCRData/ParquetIO.swift \
		$(FUZZ_BUILD)/CArrowShim/module.modulemap $(FUZZ_BUILD)/CArrowShim/arrow_shim.o $(FUZZ_BUILD)/CArrowShim/lmdb_shim.o
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRData -I $(FUZZ_BUILD)/CArrowShim $(filter %.swift,$^) \
	  $(filter %.o,$^) -L$(FUZZ_ARROW) -larrow -lparquet -llmdb -lstdc++ -Xlinker -rpath -Xlinker $(CURDIR)/$(FUZZ_ARROW) -o $@

# ONNX import: the graph reader and the PP-OCR role finder over swift-protobuf and the generated
# ONNX messages, both built instrumented as static modules (swift-protobuf's sources from SwiftPM's
# checkout, resolved first on a fresh clone).
ONNX_MODULES := $(FUZZ_BUILD)/onnx_modules
SWIFT_PROTOBUF_SOURCES := .build/checkouts/swift-protobuf/Sources/SwiftProtobuf
$(ONNX_MODULES)/SwiftProtobuf.swiftmodule: $(wildcard $(SWIFT_PROTOBUF_SOURCES)/*.swift)
	@test -d $(SWIFT_PROTOBUF_SOURCES) || swift package resolve
	@mkdir -p $(ONNX_MODULES)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -emit-module -emit-library -static -module-name SwiftProtobuf -package-name swift_protobuf \
	  $(SWIFT_PROTOBUF_SOURCES)/*.swift \
	  -emit-module-path $@ -o $(ONNX_MODULES)/libSwiftProtobuf.a
$(ONNX_MODULES)/ONNXProto.swiftmodule: Sources/ONNXProto/onnx.pb.swift $(ONNX_MODULES)/SwiftProtobuf.swiftmodule
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -emit-module -emit-library -static -module-name ONNXProto -I $(ONNX_MODULES) $< \
	  -emit-module-path $@ -o $(ONNX_MODULES)/libONNXProto.a
$(FUZZ_BUILD)/onnx: Fuzz/onnx/main.swift Sources/OCRModels/Common/ONNXGraph.swift Sources/OCRModels/PPOCR/PPOCRONNXRoles.swift \
		$(ONNX_MODULES)/ONNXProto.swiftmodule
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTFLAGS) -module-name OCRModels -I $(ONNX_MODULES) $(filter %.swift,$^) \
	  -L$(ONNX_MODULES) -lONNXProto -lSwiftProtobuf -o $@
