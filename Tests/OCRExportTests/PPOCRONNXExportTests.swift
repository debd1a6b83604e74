// PP-OCR's ONNX export: the graph's form (well-formed, operators, names, shapes, metadata, the
// PaddleX files), the class order PaddleOCR clients rebuild, and the export read back by
// onnxruntime (`--check`) against the model in ocrtune.

import Foundation
import MLXEngine
import OCRExport
import OCRModels
import ONNXProto
import XCTest

final class PPOCRONNXExportTests: XCTestCase {
    func export(_ model: URL, variants: [String] = ["fp32", "fp16"]) throws -> (URL, ExportOutcome) {
        let out = ExportFixtures.temporaryFolder("out").appendingPathComponent("onnx")
        let outcome = try Exporter.run(ExportRequest(source: model, format: .onnx, variants: variants, out: out))
        return (out, outcome)
    }

    func loadModel(_ url: URL) throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: Data(contentsOf: url))
    }

    func testGraphFormNamesShapesAndFiles() throws {
        let model = try ExportFixtures.ppocrModel()
        let (out, outcome) = try export(model)
        XCTAssertEqual(outcome.manifest.variants.map(\.name), ["fp32", "fp16"])
        let proto = try loadModel(out.appendingPathComponent("rec.onnx"))
        XCTAssertEqual(ONNXGraphCheck.problems(proto), [])
        XCTAssertEqual(proto.opsetImport.first { $0.domain.isEmpty }?.version, 17)
        let graph = proto.graph
        XCTAssertEqual(graph.input.map(\.name), ["x"])
        let inputDims = graph.input[0].type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
        XCTAssertEqual(inputDims, ["batch_size", "3", "48", "width"])
        XCTAssertEqual(graph.output.map(\.name), ["fetch_name_0"])
        let outputDims = graph.output[0].type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
        XCTAssertEqual(outputDims, ["batch_size", "steps", "12"])
        let ops = Set(graph.node.map(\.opType))
        XCTAssertTrue(ops.isSubset(of: ONNXGraphCheck.knownOperators[""]!))
        for op in ["Conv", "BatchNormalization", "HardSwish", "AveragePool", "LayerNormalization", "Softmax", "GlobalAveragePool", "HardSigmoid"] {
            XCTAssertTrue(ops.contains(op), op)
        }
        XCTAssertEqual(graph.node.last?.opType, "Identity")
        // Weights under their checkpoint keys; the dictionary in `character`.
        let initializers = Set(graph.initializer.map(\.name))
        XCTAssertTrue(initializers.contains("model.backbone.encoder.convolution.convolution.weight"))
        XCTAssertTrue(initializers.contains("head.head.weight"))
        XCTAssertEqual(proto.metadataProps.first { $0.key == "character" }?.value, (0 ..< 10).map(String.init).joined(separator: "\n"))
        // fp16: every weight stored as float16, cast once.
        let half = try loadModel(out.appendingPathComponent("rec_fp16.onnx"))
        XCTAssertEqual(ONNXGraphCheck.problems(half), [])
        let weight = half.graph.initializer.first { $0.name == "head.head.weight" }!
        XCTAssertEqual(weight.dataType, 10)
        XCTAssertEqual(weight.rawData.count, 32 * 12 * 2)
        // PaddleX layout and the dictionary file.
        let yml = try String(contentsOf: out.appendingPathComponent("paddlex/inference.yml"), encoding: .utf8)
        XCTAssertTrue(yml.hasPrefix("Global:\n  model_name: PP-OCRv5_mobile_rec\n"))
        XCTAssertTrue(yml.hasSuffix("  character_dict:\n" + (0 ..< 10).map { "  - \"\($0)\"\n" }.joined()))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("paddlex/inference.onnx").path))
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("character_dict.txt"), encoding: .utf8), (0 ..< 10).map { "\($0)\n" }.joined())
        XCTAssertEqual(try Exporter.manifest(of: out), outcome.manifest)
    }

    func testGraphCheckFindsProblems() throws {
        let g = ONNXGraphBuilder(name: "bad")
        g.input("a", .float, [.fixed(2)])
        let y = g.node("Relu", ["missing"], name: "relu")
        _ = g.node("NotAnOp", [y], name: "odd")
        g.output("nowhere", as: "nowhere", .float, [.fixed(2)])
        let problems = ONNXGraphCheck.problems(g.model())
        XCTAssertEqual(problems.count, 3, "\(problems)")
        XCTAssertTrue(problems[0].contains("input 'missing' is not defined"))
        XCTAssertTrue(problems[1].contains("not an operator"))
        XCTAssertTrue(problems[2].contains("'nowhere' is never produced"))
    }

    /// A vocabulary-extended dictionary keeps appended classes after the space: the export moves
    /// the space last (PaddleOCR's layout) and permutes the head's rows with it.
    func testExtendedVocabularyPutsTheSpaceLast() throws {
        let labels = ["a", "b", " ", "ب", "پ"]
        let model = try ExportFixtures.ppocrModel(labels: labels)
        let (out, _) = try export(model, variants: ["fp32"])
        let proto = try loadModel(out.appendingPathComponent("rec.onnx"))
        XCTAssertEqual(proto.metadataProps.first { $0.key == "character" }?.value, "a\nb\nب\nپ")
        let session = try ONNXRuntimeSession(path: out.appendingPathComponent("rec.onnx").path)
        let recognizer = try PPOCRTextRecognizer(folder: model)
        let pixels = recognizer.preprocessor.batch([ExportFixtures.image(width: 150, height: 48, seed: 3)])
        let theirs = try session.run(["x": ONNXTensor(pixels.transposed(0, 3, 1, 2))])["fetch_name_0"]!.array
        let ours = try recognizer.probabilities(pixels)
        XCTAssertEqual(theirs.shape, [1, 40, 6])  // padded to 320 px: 40 steps
        // Exported class k is ours [0, 1, 2, 4, 5, 3][k].
        let reordered = ours.take(MLXArray([0, 1, 2, 4, 5, 3] as [Int32]), axis: -1)
        XCTAssertLessThan(abs(reordered - theirs).max().item(Float.self), 1e-5)
    }

    func testRefusesVariantsItDoesNotWrite() throws {
        let model = try ExportFixtures.ppocrModel()
        XCTAssertThrowsError(try export(model, variants: ["q4"])) { error in
            XCTAssertTrue("\(error)".contains("fp32 or fp16"), "\(error)")
        }
        XCTAssertThrowsError(try export(model, variants: ["q8_0"])) { error in
            XCTAssertTrue("\(error)".contains("not a variant of --format onnx"), "\(error)")
        }
    }

    /// `--check`: onnxruntime reads the split as ocrtune does (the same texts), the probabilities
    /// within float32 rounding (fp32) and float16 weight rounding (fp16).
    func testCheckWithOnnxRuntime() throws {
        let model = try ExportFixtures.ppocrModel()
        let (out, outcome) = try export(model)
        let samples = ExportFixtures.samples(count: 10)
        let report = try ExportCheck.run(outcome, export: out, samples: samples, dataset: "tiny", split: "test")
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.samples, 10)
        let fp32 = report.variants[0]
        XCTAssertEqual(fp32.name, "fp32")
        XCTAssertTrue(fp32.runtime.hasPrefix("onnxruntime 1."), fp32.runtime)
        XCTAssertEqual(fp32.cerDifferencePoints, 0)
        XCTAssertEqual(fp32.differingSamples, 0)
        XCTAssertLessThan(fp32.largestDifference, 1e-5)
        XCTAssertGreaterThan(fp32.fileBytes["rec.onnx"] ?? 0, 100_000)
        let fp16 = report.variants[1]
        XCTAssertLessThan(fp16.largestDifference, 1e-2)
        XCTAssertLessThan(Double(fp16.fileBytes["rec_fp16.onnx"]!), 0.75 * Double(fp32.fileBytes["rec.onnx"]!))
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("export-check.json"))) as! [String: Any]
        XCTAssertEqual(written["passed"] as? Bool, true)
        XCTAssertEqual((written["variants"] as? [[String: Any]])?.count, 2)
    }

    /// PP-OCRv6: the graph is well-formed, names PaddleX's PP-OCRv6 model, and onnxruntime reads
    /// it as ocrtune does (same texts, probabilities within float32 rounding).
    func testPPOCRV6ExportsAndChecks() throws {
        let model = try ExportFixtures.ppocrV6Model()
        let (out, outcome) = try export(model, variants: ["fp32"])
        let proto = try loadModel(out.appendingPathComponent("rec.onnx"))
        XCTAssertEqual(ONNXGraphCheck.problems(proto), [])
        let ops = Set(proto.graph.node.map(\.opType))
        XCTAssertTrue(ops.isSubset(of: ONNXGraphCheck.knownOperators[""]!))
        for op in ["Conv", "BatchNormalization", "Erf", "MaxPool", "Pad", "AveragePool", "LayerNormalization", "Softmax"] {
            XCTAssertTrue(ops.contains(op), op)
        }
        XCTAssertTrue(Set(proto.graph.initializer.map(\.name)).contains("model.backbone.encoder.convolution.stem1.convolution.weight"))
        let yml = try String(contentsOf: out.appendingPathComponent("paddlex/inference.yml"), encoding: .utf8)
        XCTAssertTrue(yml.hasPrefix("Global:\n  model_name: PP-OCRv6_small_rec\n"), yml)
        let samples = ExportFixtures.samples(count: 6)
        let report = try ExportCheck.run(outcome, export: out, samples: samples, dataset: "tiny", split: "test")
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.variants[0].differingSamples, 0)
        XCTAssertLessThan(report.variants[0].largestDifference, 1e-5)
        XCTAssertThrowsError(try Exporter.run(ExportRequest(
            source: model, format: .hf, variants: [], out: ExportFixtures.temporaryFolder("hf").appendingPathComponent("hf")))) { error in
            XCTAssertTrue("\(error)".contains("no hf writer yet"), "\(error)")
        }
    }
}
