// The PP-OCR recognizer on random weights: configuration, key names, shapes, the model folder,
// LoRA, training mode, and the preprocessing rules.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRModels
import OCRTestSupport
import XCTest

/// A small recognizer (scale 0.25, hidden 32) that builds and runs in milliseconds.
func tinyConfig(classes: Int = 12) -> PPOCRRecognizerConfig { tinyPPOCRConfig(classes: classes) }

final class PPOCRModelTests: XCTestCase {
    func testConfigRoundTripsWithHuggingFaceFieldNames() throws {
        let config = tinyConfig()
        let data = try ModelFolder.encodeConfig(config)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["model_type", "backbone_config", "hidden_size", "mlp_ratio", "depth", "head_out_channels", "conv_kernel_size",
                    "qkv_bias", "num_attention_heads", "layer_norm_eps"] {
            XCTAssertNotNil(json[key], key)
        }
        let backbone = try XCTUnwrap(json["backbone_config"] as? [String: Any])
        XCTAssertEqual(backbone["model_type"] as? String, "pp_lcnet_v3")
        let stages = try XCTUnwrap(backbone["block_configs"] as? [[[Any]]])
        XCTAssertEqual(stages.map(\.count), [1, 2, 2, 5, 4])
        XCTAssertEqual(stages[2][0][3] as? [Int], [2, 1], "rec strides are [h, w] pairs")
        XCTAssertEqual(try JSONDecoder().decode(PPOCRRecognizerConfig.self, from: data), config)

        // A transformers-style block row with a scalar stride.
        let row = try JSONDecoder().decode(PPLCNetV3BlockConfig.self, from: Data("[3, 64, 128, 2, false]".utf8))
        XCTAssertEqual(row.stride, [2, 2])
        XCTAssertFalse(row.depthwiseActivation, "PaddleOCR skips the activation for stride 2")
        XCTAssertEqual(makeDivisible(512 * 0.95, divisor: 16), 480)
        XCTAssertEqual(makeDivisible(128 * 0.95, divisor: 16), 128)
        XCTAssertEqual(makeDivisible(256 * 0.95, divisor: 16), 240)
    }

    func testParameterKeysAreTheHuggingFaceNames() {
        let keys = Set(PPOCRV5Network(config: tinyConfig()).parameters().map(\.key))
        for key in [
            "model.backbone.encoder.convolution.convolution.weight",
            "model.backbone.encoder.convolution.normalization.running_var",
            "model.backbone.encoder.blocks.0.layers.0.depthwise_convolution.reparam_conv.weight",
            "model.backbone.encoder.blocks.4.layers.1.squeeze_excitation_module.convolutions.2.bias",
            "model.backbone.encoder.blocks.3.layers.4.pointwise_convolution.act.lab.scale",
            "head.encoder.conv_block.3.normalization.weight",
            "head.encoder.svtr_block.1.self_attn.qkv.weight",
            "head.encoder.svtr_block.0.mlp.fc2.bias",
            "head.encoder.svtr_block.0.layer_norm2.weight",
            "head.encoder.norm.bias",
            "head.head.weight",
        ] {
            XCTAssertTrue(keys.contains(key), key)
        }
        XCTAssertFalse(keys.contains("model.backbone.encoder.blocks.4.layers.2.squeeze_excitation_module.convolutions.0.weight"))
        XCTAssertEqual(keys.count, 234)
    }

    func testForwardShapesAndSteps() throws {
        let network = PPOCRV5Network(config: tinyConfig())
        network.train(false)
        for width in [320, 100, 77] {
            let logits = network(MLXRandom.uniform([2, 48, width, 3], low: -1, high: 1, key: MLXRandom.key(1)))
            XCTAssertEqual(logits.shape, [2, network.steps(forWidth: width), 12])
        }
        XCTAssertEqual(network.steps(forWidth: 320), 40)
        let p = network.probabilities(MLXRandom.uniform([1, 48, 64, 3], key: MLXRandom.key(2)))
        for s in p.sum(axis: -1).asArray(Float.self) { XCTAssertEqual(s, 1, accuracy: 1e-5) }
    }

    func testRoutedConvolutionsEqualTheEngines() {
        let x = MLXRandom.normal([2, 9, 11, 6], key: MLXRandom.key(3))
        let depthwise = Conv2d(inputChannels: 6, outputChannels: 6, kernelSize: (5, 5), stride: (2, 1), padding: (2, 2), groups: 6)
        let pointwise = Conv2d(inputChannels: 6, outputChannels: 4, kernelSize: (1, 1))
        XCTAssertTrue(depthwise.isDepthwise)
        XCTAssertTrue(pointwise.isPointwise)
        for layer in [depthwise, pointwise] {
            let routed = layer(x)
            layer.kernels = .engine
            let reference = layer(x)
            XCTAssertEqual(routed.shape, reference.shape)
            XCTAssertLessThan((routed - reference).abs().max().item(Float.self), 1e-5)
        }
    }

    func testKernelChoicesReadTheSame() throws {
        let network = PPOCRV5Network(config: tinyConfig())
        network.train(false)
        let x = MLXRandom.uniform([2, 48, 96, 3], low: -1, high: 1, key: MLXRandom.key(4))
        let fused = network(x)
        for choice in [KernelChoice.unfused, .engine] {
            network.useKernels(choice)
            XCTAssertLessThan((network(x) - fused).abs().max().item(Float.self), 1e-4, "\(choice)")
        }
        XCTAssertEqual(network.head.kernels, .engine)
    }

    func testModelFolderRoundTripAndRegistry() throws {
        let config = tinyConfig()
        let network = PPOCRV5Network(config: config)
        let dictionary = CharacterDictionary(paddleCharacters: (0 ..< 10).map(String.init), useSpaceChar: true)
        let imported = PPOCRImport(config: config, weights: network.parameterDictionary(), dictionary: dictionary)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppocr-folder-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try imported.write(to: dir)
        XCTAssertThrowsError(try imported.write(to: dir), "an existing folder is not replaced without overwrite")
        try imported.write(to: dir, overwrite: true)
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)),
            [ModelFolder.configFile, ModelFolder.weightsFile, ModelFolder.dictionaryFile])
        XCTAssertEqual(try ModelFolder.modelType(at: dir), "pp_ocrv5_mobile_rec")

        let loaded = try XCTUnwrap(try ModelFamilies.load(dir) as? PPOCRTextRecognizer)
        XCTAssertEqual(loaded.dictionary, dictionary)
        let x = MLXRandom.uniform([1, 48, 96, 3], low: -1, high: 1, key: MLXRandom.key(4))
        network.train(false)
        let expected = network.probabilities(x)
        loaded.useCompile = false
        XCTAssertLessThan((try loaded.probabilities(x) - expected).abs().max().item(Float.self), 1e-6)
        XCTAssertEqual(loaded.name, "PP-OCRv5 mobile rec")
        XCTAssertEqual(try loaded.recognize([RGBImage(width: 50, height: 25)], prompt: nil).count, 1)
    }

    func testLoRAWrapsTheNeckAndHeadLinears() throws {
        let network = PPOCRV5Network(config: tinyConfig())
        let wrapped = try network.applyLoRA(LoRAConfiguration(r: 4, targetModules: ["qkv", "projection", "fc1", "fc2", "head.head"]))
        XCTAssertEqual(wrapped.count, 2 * 4 + 1)
        XCTAssertTrue(wrapped.contains("head.encoder.svtr_block.1.self_attn.qkv"))
        XCTAssertTrue(wrapped.contains("head.head"))
        let trainable = network.trainableParameters().map(\.key)
        XCTAssertTrue(trainable.allSatisfy { $0.contains("lora_") })
        XCTAssertEqual(trainable.count, 2 * wrapped.count)
    }

    func testTrainingModeUsesBatchStatisticsAndGradientsFlow() throws {
        let network = PPOCRV5Network(config: tinyConfig())
        let x = MLXRandom.uniform([2, 48, 64, 3], low: -1, high: 1, key: MLXRandom.key(5))
        let runningMean = network.head.encoder.conv_block[0].normalization.runningMean
        let before = runningMean.asArray(Float.self)
        network.train(true)
        let (loss, gradients) = try valueAndGrad(model: network) { network(x).square().mean() }
        XCTAssertTrue(loss.item(Float.self).isFinite)
        XCTAssertNotEqual(runningMean.asArray(Float.self), before, "training mode updates the running statistics")
        let g = try XCTUnwrap(gradients["model.backbone.encoder.blocks.0.layers.0.depthwise_convolution.reparam_conv.weight"])
        XCTAssertGreaterThan(g.abs().sum().item(Float.self), 0)
        XCTAssertNil(gradients["head.encoder.conv_block.0.normalization.running_mean"], "buffers are not trained")
    }

    // MARK: Preprocessing

    func testPreprocessingFollowsPaddleOCR() {
        let pre = PPOCRPreprocessor()
        let wide = RGBImage(width: 400, height: 20, fill: (255, 0, 0))
        let small = RGBImage(width: 30, height: 30, fill: (0, 0, 255))
        XCTAssertEqual(pre.batchWidth(for: [small]), 320)
        XCTAssertEqual(pre.batchWidth(for: [small, wide]), 960)  // int(48 · 20)
        XCTAssertEqual(pre.resizedWidth(small, batchWidth: 320), 48)
        let batch = pre.batch([small])
        XCTAssertEqual(batch.shape, [1, 48, 320, 3])
        let v = batch.asArray(Float.self)
        XCTAssertEqual(Array(v[0 ..< 3]), [1, -1, -1], "BGR order: blue first")
        XCTAssertEqual(Array(v[(47 * 320 + 200) * 3 ..< (47 * 320 + 200) * 3 + 3]), [0, 0, 0], "zero padding on the right")
    }

    func testOpenCVResizeOnKnownValues() {
        // 2×1 → 4×1: source x = (dx + 0.5)·0.5 − 0.5 = −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        let image = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 100, 100, 100])
        let up = image.resized(width: 4, height: 1)
        XCTAssertEqual(stride(from: 0, to: 12, by: 3).map { up.pixels[$0] }, [0, 25, 75, 100])
        let same = image.resized(width: 2, height: 1)
        XCTAssertEqual(same, image)
    }
}
