// swift-tools-version: 6.0
// ocrtune — fine-tune OCR models on your own documents, in Swift, on Apple's MLX engine.

import Foundation
import PackageDescription

// MLX (C++ headers and libmlx.so) comes from the `mlx-cpu` PyPI wheel, installed by
// tools/setup.sh into .deps/python (git-ignored). `make` runs the set-up first.
let mlxRoot = ProcessInfo.processInfo.environment["OCRTUNE_MLX_ROOT"]
    ?? "\(Context.packageDirectory)/.deps/python/mlx"

// Apache Arrow C++ (Parquet) comes from the `pyarrow` wheel, installed the same way.
let arrowRoot = ProcessInfo.processInfo.environment["OCRTUNE_ARROW_ROOT"]
    ?? "\(Context.packageDirectory)/.deps/python/pyarrow"

// onnxruntime's C library comes from the `onnxruntime` wheel, installed the same way (its
// Python modules are not used); `ocrtune export --check` runs ONNX exports through it.
let onnxRuntimeRoot = ProcessInfo.processInfo.environment["OCRTUNE_ONNXRUNTIME_ROOT"]
    ?? "\(Context.packageDirectory)/.deps/python/onnxruntime/capi"

let package = Package(
    name: "ocrtune",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ocrtune", targets: ["ocrtune"]),
        .library(name: "MLXEngine", targets: ["MLXEngine"]),
        .library(name: "MLXNN", targets: ["MLXNN"]),
        .library(name: "MLXOptimizers", targets: ["MLXOptimizers"]),
        .library(name: "OCRImaging", targets: ["OCRImaging"]),
        .library(name: "OCRMetrics", targets: ["OCRMetrics"]),
        .library(name: "OCRData", targets: ["OCRData"]),
        .library(name: "OCRText", targets: ["OCRText"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        // Serving (OCRServe): HTTP server, graceful shutdown, Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // MARK: Engine binding
        .target(
            name: "CMLXShim",
            cxxSettings: [
                .unsafeFlags(["-I\(mlxRoot)/include", "-O3", "-fexceptions"]),
            ],
            linkerSettings: [
                .unsafeFlags([
                    "-L\(mlxRoot)/lib", "-lmlx",
                    "-Xlinker", "-rpath", "-Xlinker", "\(mlxRoot)/lib",
                    "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../lib/ocrtune/mlx/lib",
                ]),
            ]
        ),
        // ocrtune's own CPU kernels (MLX custom primitives) on the shim's handles, with their own header.
        .target(
            // The shim's headers come by path, not as a target dependency: a dependency would hand
            // clang the shim's module map, and C++20 then refuses to include its header as text.
            name: "CMLXKernels",
            cxxSettings: [.unsafeFlags([
                "-I\(mlxRoot)/include", "-I\(Context.packageDirectory)/Sources/CMLXShim/include", "-O3", "-fexceptions",
            ])]
        ),
        .target(name: "MLXEngine", dependencies: ["CMLXShim", "CMLXKernels", "SafeTensors"]),
        .target(name: "SafeTensors"),

        // MARK: Neural networks and optimization
        .target(name: "MLXNN", dependencies: ["MLXEngine"]),
        .target(name: "MLXOptimizers", dependencies: ["MLXEngine", "MLXNN"]),

        // MARK: Shared utilities (seeded RNG, atomic folders)
        .target(name: "OCRSupport"),

        // MARK: Images (Debian's codec libraries; pixel work in C)
        .target(
            name: "CImageCodecs",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [
                .linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("webp"),
                .linkedLibrary("tiff"), .linkedLibrary("gif"), .linkedLibrary("stb"),
            ]
        ),
        .target(name: "OCRImaging", dependencies: ["CImageCodecs"]),

        // MARK: Datasets (Parquet through Arrow C++, LMDB)
        .target(
            name: "CArrowShim",
            cxxSettings: [.unsafeFlags(["-I\(arrowRoot)/include", "-O2", "-fexceptions", "-D_GLIBCXX_USE_CXX11_ABI=1"])],
            linkerSettings: [
                .linkedLibrary("lmdb"),
                .unsafeFlags([
                    "-L\(arrowRoot)", "-larrow", "-lparquet",
                    "-Xlinker", "-rpath", "-Xlinker", arrowRoot,
                    "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../lib/ocrtune/pyarrow",
                ]),
            ]
        ),
        .target(name: "OCRData", dependencies: ["OCRImaging", "CArrowShim", "OCRSupport"]),

        // MARK: Synthetic data (Pango + Cairo via pkg-config; degradations and PNG/JPEG in C)
        .systemLibrary(
            name: "CPangoCairo", path: "Sources/CRender/CPangoCairo", pkgConfig: "pangocairo",
            providers: [.apt(["libpango1.0-dev", "libcairo2-dev"])]),
        .target(
            name: "CRender", dependencies: ["CPangoCairo"], exclude: ["CPangoCairo"],
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [
                .linkedLibrary("fontconfig"), .linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("m"),
            ]),
        .target(name: "OCRSynth", dependencies: ["CRender", "OCRImaging", "OCRMetrics"]),

        // MARK: Model families (one folder per family; ONNX import through swift-protobuf)
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // Text detection's pixel work (DB post-processing, perspective crops); Clipper (Debian's
        // libpolyclipping) offsets the polygons.
        .target(
            name: "CTextDetection",
            cxxSettings: [.unsafeFlags(["-O2", "-ffp-contract=off", "-I/usr/include/polyclipping"])],
            linkerSettings: [.linkedLibrary("polyclipping")]),
        .target(
            name: "OCRModels",
            dependencies: ["ONNXProto", "MLXEngine", "MLXNN", "OCRImaging", "OCRText", "OCRSupport", "CTextDetection"]),

        // MARK: Text (tokenizers)
        .target(name: "OCRText"),

        // MARK: Training
        .target(name: "OCRTraining", dependencies: ["MLXEngine", "MLXNN", "MLXOptimizers", "OCRSupport"]),
        // Per family: its trainable and fine-tuning recipe; one run driver for all of them.
        .target(
            name: "OCRFineTune",
            dependencies: [
                "OCRModels", "OCRTraining", "OCRData", "OCRMetrics", "OCRImaging", "OCRText", "MLXEngine", "MLXNN", "OCRSupport",
            ]),

        // MARK: Evaluation
        .target(name: "OCRMetrics"),
        .target(name: "OCREvaluation", dependencies: ["OCRMetrics", "OCRImaging", "OCRSupport", "OCRText"]),

        // MARK: Serving (Hummingbird: OpenAI chat completions, PaddleX /ocr, dynamic batching)
        .target(
            name: "OCRServe",
            dependencies: [
                "MLXEngine", "MLXNN", "OCRImaging", "OCRModels", "OCRText", "OCRTraining",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Export (ONNX, GGUF, Hugging Face, PEFT, MLX) and the runtimes that check it
        .target(
            name: "CONNXRuntime",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [
                .unsafeFlags([
                    "-L\(onnxRuntimeRoot)", "-lonnxruntime",
                    "-Xlinker", "-rpath", "-Xlinker", onnxRuntimeRoot,
                    "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../lib/ocrtune/onnxruntime",
                ]),
            ]),
        // Per family: its writers (one folder each); shared writers and quantizers in Common/.
        .target(
            name: "OCRExport",
            dependencies: [
                "CONNXRuntime", "ONNXProto", "OCRModels", "OCRFineTune", "OCREvaluation", "OCRMetrics", "OCRImaging",
                "OCRText", "MLXEngine", "MLXNN", "OCRSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),

        // MARK: Command-line program
        .executableTarget(
            name: "ocrtune",
            dependencies: [
                "MLXEngine", "MLXNN", "MLXOptimizers", "OCRMetrics", "OCREvaluation", "OCRImaging", "OCRTraining", "OCRSynth", "OCRData", "OCRModels", "OCRFineTune", "OCRExport", "OCRText", "OCRServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Benchmarks (driven by bench/*.py, which also runs the peers)
        .executableTarget(
            name: "EngineBench", dependencies: ["MLXEngine", "MLXNN"], path: "Benchmarks/EngineBench"),
        .executableTarget(name: "MetricsBench", dependencies: ["OCRMetrics"], path: "Benchmarks/MetricsBench"),
        .executableTarget(name: "DistributedBench", dependencies: ["MLXEngine"], path: "Benchmarks/DistributedBench"),
        .executableTarget(name: "SynthBench", dependencies: ["OCRSynth"], path: "Benchmarks/SynthBench"),
        .executableTarget(name: "PPOCRBench", dependencies: ["OCRModels", "MLXEngine", "OCRImaging"], path: "Benchmarks/PPOCRBench"),
        .executableTarget(name: "DataBench", dependencies: ["OCRData", "OCRImaging", "OCRSupport"], path: "Benchmarks/DataBench"),
        .executableTarget(
            name: "TrainBench", dependencies: ["OCRModels", "OCRFineTune", "OCRTraining", "MLXEngine", "MLXNN", "MLXOptimizers"],
            path: "Benchmarks/TrainBench"),
        .executableTarget(
            name: "QwenVLBench", dependencies: ["OCRModels", "OCRFineTune", "MLXEngine", "MLXNN", "MLXOptimizers"],
            path: "Benchmarks/QwenVLBench"),
        .executableTarget(
            name: "DeepSeekOCRBench", dependencies: ["OCRModels", "OCRFineTune", "MLXEngine", "MLXNN", "MLXOptimizers", "OCRImaging"],
            path: "Benchmarks/DeepSeekOCRBench"),

        // MARK: Tests (one per library target)
        // Shared by the model, fine-tuning and serving tests: where the model fixtures are, tiny configs.
        .target(name: "OCRTestSupport", dependencies: ["OCRModels", "MLXEngine", "OCRImaging"], path: "Tests/OCRTestSupport"),
        .testTarget(name: "MLXEngineTests", dependencies: ["MLXEngine"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "OCRSupport"]),
        .testTarget(name: "MLXNNTests", dependencies: ["MLXNN", "MLXOptimizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MLXOptimizersTests", dependencies: ["MLXOptimizers", "MLXNN"]),
        .testTarget(name: "OCRMetricsTests", dependencies: ["OCRMetrics", "OCRSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OCREvaluationTests", dependencies: ["OCREvaluation"]),
        .testTarget(name: "OCRTrainingTests", dependencies: ["OCRTraining", "MLXNN", "MLXEngine", "OCRSupport"]),
        .testTarget(name: "OCRSupportTests", dependencies: ["OCRSupport"]),
        .testTarget(
            name: "OCRModelsTests", dependencies: ["OCRModels", "OCRTestSupport", "ONNXProto", "MLXEngine", "MLXNN", "OCRImaging", "OCRText"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "OCRFineTuneTests",
            dependencies: ["OCRFineTune", "OCRTestSupport", "OCRModels", "OCRTraining", "OCRData", "MLXEngine", "MLXNN", "OCRImaging", "OCRText"]),
        .testTarget(
            name: "OCRExportTests",
            dependencies: [
                "OCRExport", "OCRTestSupport", "OCRModels", "OCRFineTune", "OCREvaluation", "ONNXProto", "MLXEngine", "MLXNN",
                "OCRImaging",
            ]),
        .testTarget(name: "OCRTextTests", dependencies: ["OCRText"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OCRImagingTests", dependencies: ["OCRImaging"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OCRDataTests", dependencies: ["OCRData", "OCRImaging", "OCRSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "OCRSynthTests", dependencies: ["OCRSynth", "OCRImaging", "OCRMetrics"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "OCRServeTests",
            dependencies: [
                "OCRServe", "OCRModels", "OCRFineTune", "OCRTestSupport", "OCRImaging", "OCRTraining", "MLXEngine", "MLXNN",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["live_client.py"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx20
)
