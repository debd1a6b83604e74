// swift-tools-version: 6.0
// ocrtune — fine-tune OCR models on your own documents, in Swift, on Apple's MLX engine.

import Foundation
import PackageDescription

// MLX (C++ headers and libmlx.so) comes from the `mlx-cpu` PyPI wheel, installed by
// tools/setup.sh into .deps/python (git-ignored). `make` runs the set-up first.
let mlxRoot = ProcessInfo.processInfo.environment["OCRTUNE_MLX_ROOT"]
    ?? "\(Context.packageDirectory)/.deps/python/mlx"

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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
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
        .target(name: "MLXEngine", dependencies: ["CMLXShim", "SafeTensors"]),
        .target(name: "SafeTensors"),

        // MARK: Neural networks and optimization
        .target(name: "MLXNN", dependencies: ["MLXEngine"]),
        .target(name: "MLXOptimizers", dependencies: ["MLXEngine", "MLXNN"]),

        // MARK: Shared utilities (seeded RNG, atomic folders)
        .target(name: "OCRSupport"),

        // MARK: Images
        .target(name: "OCRImaging"),

        // MARK: Training
        .target(name: "OCRTraining", dependencies: ["MLXEngine", "MLXNN", "MLXOptimizers", "OCRSupport"]),

        // MARK: Evaluation
        .target(name: "OCRMetrics"),
        .target(name: "OCREvaluation", dependencies: ["OCRMetrics", "OCRImaging", "OCRSupport"]),

        // MARK: Command-line program
        .executableTarget(
            name: "ocrtune",
            dependencies: [
                "MLXEngine", "MLXNN", "MLXOptimizers", "OCRMetrics", "OCREvaluation", "OCRImaging", "OCRTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Benchmarks (driven by bench/*.py, which also runs the peers)
        .executableTarget(
            name: "EngineBench", dependencies: ["MLXEngine", "MLXNN"], path: "Benchmarks/EngineBench"),
        .executableTarget(name: "MetricsBench", dependencies: ["OCRMetrics"], path: "Benchmarks/MetricsBench"),

        // MARK: Tests (one per library target)
        .testTarget(name: "MLXEngineTests", dependencies: ["MLXEngine"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "OCRSupport"]),
        .testTarget(name: "MLXNNTests", dependencies: ["MLXNN", "MLXOptimizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MLXOptimizersTests", dependencies: ["MLXOptimizers", "MLXNN"]),
        .testTarget(name: "OCRMetricsTests", dependencies: ["OCRMetrics", "OCRSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OCREvaluationTests", dependencies: ["OCREvaluation"]),
        .testTarget(name: "OCRTrainingTests", dependencies: ["OCRTraining", "MLXNN", "MLXEngine", "OCRSupport"]),
        .testTarget(name: "OCRSupportTests", dependencies: ["OCRSupport"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx20
)
