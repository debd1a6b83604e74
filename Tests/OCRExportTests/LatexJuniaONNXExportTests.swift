// latex-ocr-junia to ONNX: the encoder–decoder layout (names, shapes, companions) and greedy
// decoding through onnxruntime (KV cache fed back) giving ocrtune's tokens and logits on the tiny
// fixture, float and quantized.

import Foundation
import OCRExport
import OCRModels
import OCRTestSupport
import ONNXProto
import XCTest

final class LatexJuniaONNXExportTests: XCTestCase {
    let fixture = ModelFixtures.url("latex-junia-tiny/model")

    func export(variants: [String]) throws -> (URL, ExportOutcome) {
        let out = ExportFixtures.temporaryFolder("latex").appendingPathComponent("onnx")
        return (out, try Exporter.run(ExportRequest(source: fixture, format: .onnx, variants: variants, out: out)))
    }

    func testLayoutNamesAndShapes() throws {
        let (out, outcome) = try export(variants: ["fp32"])
        XCTAssertEqual(outcome.manifest.variants.map(\.files), [["onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx"]])
        XCTAssertEqual(Set(outcome.manifest.shared), ["config.json", "char_tokenizer.json", "preprocessor_config.json", "generation_config.json"])
        let encoder = try Onnx_ModelProto(serializedBytes: Data(contentsOf: out.appendingPathComponent("onnx/encoder_model.onnx")))
        XCTAssertEqual(ONNXGraphCheck.problems(encoder), [])
        let input = encoder.graph.input[0].type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
        XCTAssertEqual(input, ["batch_size", "1", "32", "128"])
        let hidden = encoder.graph.output[0].type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
        XCTAssertEqual(hidden, ["batch_size", "64", "32"])  // (32 / 8) · (128 / 8) patches, d_model 32
        let decoder = try Onnx_ModelProto(serializedBytes: Data(contentsOf: out.appendingPathComponent("onnx/decoder_model_merged.onnx")))
        XCTAssertEqual(ONNXGraphCheck.problems(decoder), [])
        let pasts = (0 ..< 2).flatMap { i in ["decoder.key", "decoder.value", "encoder.key", "encoder.value"].map { "past_key_values.\(i).\($0)" } }
        XCTAssertEqual(decoder.graph.input.map(\.name), ["input_ids", "encoder_hidden_states"] + pasts + ["use_cache_branch"])
        XCTAssertEqual(decoder.graph.output.map(\.name), ["logits"] + pasts.map { $0.replacingOccurrences(of: "past_key_values", with: "present") })
        XCTAssertEqual(decoder.graph.node.filter { $0.opType == "If" }.count, 1)
    }

    /// onnxruntime's greedy decoding reads what ocrtune reads, with the same logits.
    func testCheckThroughONNXRuntime() throws {
        let (out, outcome) = try export(variants: ["fp32", "fp16", "int8"])
        let report = try ExportCheck.run(outcome, export: out, samples: ExportFixtures.samples(count: 6, height: 40), dataset: "tiny", split: "test")
        XCTAssertEqual(report.variants.map(\.name), ["fp32", "fp16", "int8"])
        XCTAssertEqual(report.variants[0].differingSamples, 0)
        XCTAssertEqual(report.variants[0].differenceOf, "logits")
        XCTAssertLessThan(report.variants[0].largestDifference, 1e-4)
        XCTAssertGreaterThan(report.variants[1].largestDifference, 0)
        XCTAssertLessThan(report.variants[1].largestDifference, 5e-2)
        XCTAssertLessThan(report.variants[2].largestDifference, 1)
        XCTAssertTrue(report.variants[0].passed)
    }

    func testRefusesOtherFormatsAndVariants() throws {
        XCTAssertThrowsError(try export(variants: ["q8"])) { error in
            XCTAssertTrue("\(error)".contains("not a variant of --format onnx"), "\(error)")
        }
        let out = ExportFixtures.temporaryFolder("latex-gguf").appendingPathComponent("out")
        XCTAssertThrowsError(try Exporter.run(ExportRequest(source: fixture, format: .gguf, out: out)))
    }
}
