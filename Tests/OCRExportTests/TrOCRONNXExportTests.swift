// Vision encoder–decoders to ONNX: the optimum / transformers.js names and shapes of the encoder
// and the merged decoder, and greedy decoding through onnxruntime (KV cache fed back) giving
// ocrtune's tokens on the tiny ViT, DeiT and BEiT fixtures.

import Foundation
import OCRExport
import OCRModels
import OCRTestSupport
import ONNXProto
import XCTest

final class TrOCRONNXExportTests: XCTestCase {
    func export(_ fixture: String, variants: [String] = ["fp32"]) throws -> (URL, ExportOutcome) {
        let out = ExportFixtures.temporaryFolder("trocr").appendingPathComponent("onnx")
        let outcome = try Exporter.run(ExportRequest(source: ModelFixtures.url(fixture), format: .onnx, variants: variants, out: out))
        return (out, outcome)
    }

    func testLayoutNamesAndShapes() throws {
        let (out, outcome) = try export("trocr-vit", variants: ["fp32", "fp16"])
        XCTAssertEqual(outcome.manifest.variants.map(\.files), [
            ["onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx"],
            ["onnx/encoder_model_fp16.onnx", "onnx/decoder_model_merged_fp16.onnx"],
        ])
        for file in ["config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json"] {
            XCTAssertTrue(outcome.manifest.shared.contains(file), file)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        let encoder = try Onnx_ModelProto(serializedBytes: Data(contentsOf: out.appendingPathComponent("onnx/encoder_model.onnx")))
        XCTAssertEqual(ONNXGraphCheck.problems(encoder), [])
        XCTAssertEqual(encoder.graph.input.map(\.name), ["pixel_values"])
        XCTAssertEqual(encoder.graph.output.map(\.name), ["last_hidden_state"])
        let decoder = try Onnx_ModelProto(serializedBytes: Data(contentsOf: out.appendingPathComponent("onnx/decoder_model_merged.onnx")))
        XCTAssertEqual(ONNXGraphCheck.problems(decoder), [])
        let pasts = (0 ..< 2).flatMap { i in ["decoder.key", "decoder.value", "encoder.key", "encoder.value"].map { "past_key_values.\(i).\($0)" } }
        XCTAssertEqual(decoder.graph.input.map(\.name), ["input_ids", "encoder_hidden_states"] + pasts + ["use_cache_branch"])
        XCTAssertEqual(decoder.graph.output.map(\.name), ["logits"] + pasts.map { $0.replacingOccurrences(of: "past_key_values", with: "present") })
        XCTAssertEqual(decoder.graph.node.filter { $0.opType == "If" }.count, 1)
        let dims = decoder.graph.input[2].type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
        XCTAssertEqual(dims, ["batch_size", "4", "past_decoder_sequence_length", "8"])
    }

    /// onnxruntime's greedy decoding with the merged decoder reads what ocrtune reads.
    func testCheckViTDeiTAndBEiT() throws {
        for fixture in ["trocr-vit", "trocr-deit", "trocr-beit"] {
            let (out, outcome) = try export(fixture, variants: ["fp32", "fp16"])
            let samples = ExportFixtures.samples(count: 6, height: 32)
            let report = try ExportCheck.run(outcome, export: out, samples: samples, dataset: "tiny", split: "test")
            XCTAssertTrue(report.passed, fixture)
            XCTAssertEqual(report.variants[0].differingSamples, 0, fixture)
            XCTAssertLessThan(report.variants[0].largestDifference, 1e-4, fixture)
            XCTAssertEqual(report.variants[0].differenceOf, "logits")
            XCTAssertLessThan(report.variants[1].largestDifference, 5e-2, fixture)
        }
    }

    /// The 8- and 4-bit variants run in onnxruntime (MatMulInteger, MatMulNBits) and stay near
    /// the float logits.
    func testQuantizedVariants() throws {
        let (out, outcome) = try export("trocr-vit", variants: ["int8", "uint8", "q4"])
        XCTAssertEqual(outcome.manifest.variants.map(\.files[1]), [
            "onnx/decoder_model_merged_int8.onnx", "onnx/decoder_model_merged_uint8.onnx", "onnx/decoder_model_merged_q4.onnx",
        ])
        let decoder = try Onnx_ModelProto(serializedBytes: Data(contentsOf: out.appendingPathComponent("onnx/decoder_model_merged_q4.onnx")))
        XCTAssertEqual(ONNXGraphCheck.problems(decoder), [])
        XCTAssertTrue(decoder.graph.node.contains { $0.opType == "MatMulNBits" && $0.domain == "com.microsoft" })
        let report = try ExportCheck.run(outcome, export: out, samples: ExportFixtures.samples(count: 4, height: 32), dataset: "tiny", split: "test")
        XCTAssertEqual(report.variants.map(\.tolerancePoints), [1, 1, 3])
        // 8-bit stays near the float logits; 4-bit on a 40-wide model less so (its blocks are
        // checked against their dequantized weights in QuantizerTests).
        for (variant, bound) in zip(report.variants, [1.0, 1.0, 8.0]) {
            XCTAssertGreaterThan(variant.largestDifference, 0, variant.name)
            XCTAssertLessThan(variant.largestDifference, bound, variant.name)
        }
    }
}
