// Malformed config.json values that used to trap (division by zero heads, an index past a short
// list, integer overflow, an empty backbone) — found reading the decoders for Fuzz/model_config —
// now throw a DecodingError naming the field, while the fixtures' own configs still decode.

import Foundation
import OCRModels
import XCTest

final class ConfigDecodingTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    /// A fixture's JSON with `change` applied to its top-level object.
    func fixture(_ path: String, _ change: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent(path))) as? [String: Any])
        change(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    func expectRefusal<C: Decodable>(_ type: C.Type, _ data: Data, naming field: String, line: UInt = #line) {
        XCTAssertThrowsError(try JSONDecoder().decode(C.self, from: data), line: line) { error in
            XCTAssertTrue(error is DecodingError, "\(error)", line: line)
            XCTAssertTrue("\(error)".contains(field), "\(error) does not name \(field)", line: line)
        }
    }

    /// Sets `value` at the nested `keys` of a JSON object.
    func set(_ json: inout [String: Any], _ keys: [String], _ value: Any) {
        guard let first = keys.first else { return }
        if keys.count == 1 { json[first] = value; return }
        var inner = json[first] as? [String: Any] ?? [:]
        set(&inner, Array(keys.dropFirst()), value)
        json[first] = inner
    }

    func testDeepSeekOCRConfigRefusesSizesThatTrapped() throws {
        XCTAssertNoThrow(try JSONDecoder().decode(DeepSeekOCRConfig.self, from: fixture("deepseek_ocr-tiny/config.json")))
        XCTAssertNoThrow(try JSONDecoder().decode(DeepSeekOCRConfig.self, from: fixture("deepseek_ocr2-tiny/config.json")))
        let v1 = "deepseek_ocr-tiny/config.json"
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, ["language_config", "num_attention_heads"], 0) },
                      naming: "num_attention_heads")
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, ["language_config", "num_key_value_heads"], 0) },
                      naming: "num_key_value_heads")
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, ["language_config", "num_hidden_layers"], -1) },
                      naming: "num_hidden_layers")
        let sam = ["vision_config", "width", "sam_vit_b"]
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, sam + ["downsample_channels"], [16]) },
                      naming: "two downsample channels")
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, sam + ["heads"], 0) }, naming: "vision_config")
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, sam + ["width"], 1e300) }, naming: "vision_config")
        expectRefusal(DeepSeekOCRConfig.self, try fixture(v1) { self.set(&$0, sam + ["width"], 1 << 62) }, naming: "vision_config")
        expectRefusal(DeepSeekOCRConfig.self, try fixture("deepseek_ocr2-tiny/config.json") {
            self.set(&$0, ["vision_config", "encoder_config", "num_key_value_heads"], 0)
        }, naming: "vision_config")
    }

    func testQwenVLConfigRefusesSizesThatTrapped() throws {
        let path = "qwen3_vl-tiny/config.json"
        XCTAssertNoThrow(try JSONDecoder().decode(QwenVLConfig.self, from: fixture(path)))
        expectRefusal(QwenVLConfig.self, try fixture(path) {
            self.set(&$0, ["text_config", "num_attention_heads"], 0)
            self.set(&$0, ["text_config", "head_dim"], NSNull())
        }, naming: "num_attention_heads")
        expectRefusal(QwenVLConfig.self, try fixture(path) {
            self.set(&$0, ["text_config", "rope_scaling", "mrope_section"], [Int.max, Int.max, 2])
            self.set(&$0, ["text_config", "rope_parameters", "mrope_section"], [Int.max, Int.max, 2])
        }, naming: "mrope_section")
        let processor = "qwen3_vl-tiny/preprocessor_config.json"
        XCTAssertNoThrow(try JSONDecoder().decode(QwenVLImageProcessorConfig.self, from: fixture(processor)))
        expectRefusal(QwenVLImageProcessorConfig.self, try fixture(processor) { $0["patch_size"] = 1 << 40 }, naming: "patch_size")
    }

    func testPPOCRBackboneRefusesWhatTrapped() throws {
        let base: [String: Any] = ["model_type": "pp_ocrv5_mobile_rec"]
        XCTAssertNoThrow(try JSONDecoder().decode(PPOCRRecognizerConfig.self, from: JSONSerialization.data(withJSONObject: base)))
        func with(_ backbone: [String: Any]) throws -> Data {
            try JSONSerialization.data(withJSONObject: base.merging(["backbone_config": backbone]) { $1 })
        }
        expectRefusal(PPOCRRecognizerConfig.self, try with(["block_configs": [[Any]]()]), naming: "block_configs")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["block_configs": [[Any]()]]), naming: "block_configs")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["scale": 1e308]), naming: "scale")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["divisor": 0]), naming: "divisor")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["block_configs": [[[3, 16, 0, 1, false]]]]), naming: "channels")
    }

    /// What the PP-OCR builders compute from a config — an MLP width from mlp_ratio, a range over
    /// depth, channels over a reduction, a width over a pooling kernel — no longer traps.
    func testPPOCRRecognizerRefusesWhatItsBuilderWouldTrapOn() throws {
        let base: [String: Any] = ["model_type": "pp_ocrv5_mobile_rec"]
        func with(_ change: [String: Any]) throws -> Data {
            try JSONSerialization.data(withJSONObject: base.merging(change) { $1 })
        }
        expectRefusal(PPOCRRecognizerConfig.self, try with(["mlp_ratio": 1e300]), naming: "mlp_ratio")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["mlp_ratio": -1]), naming: "mlp_ratio")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["depth": -1]), naming: "depth")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["num_attention_heads": 7]), naming: "heads")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["pool_kernel_size": [3, 0]]), naming: "pool_kernel_size")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["blank_index": 18385]), naming: "blank_index")
        expectRefusal(PPOCRRecognizerConfig.self, try with(["backbone_config": ["reduction": 0]]), naming: "reduction")
    }

    func testPPOCRV6ConfigsDecodeAndRefuseWhatTheirBuildersWouldTrapOn() throws {
        let backbone: [String: Any] = [
            "model_type": "pp_lcnet_v4", "stem_channels": [3, 48, 96], "stem_strides": [2, 1, 1, 2, 1], "reduction": 4,
            "block_configs": [[[3, 96, 96, 1, true]], [[3, 96, 96, 1, false]], [[3, 96, 192, [2, 1], false]], [[3, 192, 384, [2, 1], true]]],
        ]
        let recognizer: [String: Any] = [
            "model_type": "pp_ocrv6_small_rec", "backbone_config": backbone, "hidden_size": 120, "num_attention_heads": 8,
            "depth": 2, "mlp_ratio": 2.0, "head_out_channels": 18714, "conv_kernel_size": [1, 7],
        ]
        let detector: [String: Any] = [
            "model_type": "pp_ocrv6_small_det", "backbone_config": backbone, "reduction": 4, "neck_out_channels": 96,
            "kernel_list": [3, 2, 2], "layer_list_out_channels": [96, 96, 192, 384], "dilated_kernel_size": 7,
        ]
        func data(_ json: [String: Any], _ change: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
            var json = json
            change(&json)
            return try JSONSerialization.data(withJSONObject: json)
        }
        let rec = try JSONDecoder().decode(PPOCRV6RecognizerConfig.self, from: data(recognizer))
        XCTAssertEqual(rec.backboneConfig.outputChannels, 384)
        XCTAssertEqual(try JSONDecoder().decode(PPOCRV6RecognizerConfig.self, from: JSONEncoder().encode(rec)), rec)
        let det = try JSONDecoder().decode(PPOCRV6DetConfig.self, from: data(detector))
        XCTAssertEqual(try JSONDecoder().decode(PPOCRV6DetConfig.self, from: JSONEncoder().encode(det)), det)

        expectRefusal(PPOCRV6RecognizerConfig.self, try data(recognizer) { $0["mlp_ratio"] = 1e300 }, naming: "mlp_ratio")
        expectRefusal(PPOCRV6RecognizerConfig.self, try data(recognizer) { $0["depth"] = -2 }, naming: "depth")
        expectRefusal(PPOCRV6RecognizerConfig.self, try data(recognizer) { $0["head_out_channels"] = 0 }, naming: "head_out_channels")
        expectRefusal(PPOCRV6RecognizerConfig.self, try data(recognizer) { self.set(&$0, ["backbone_config", "reduction"], 0) },
                      naming: "reduction")
        expectRefusal(PPOCRV6RecognizerConfig.self, try data(recognizer) { self.set(&$0, ["backbone_config", "stem_channels"], [3, -48, 96]) },
                      naming: "stem_channels")
        expectRefusal(PPOCRV6DetConfig.self, try data(detector) { $0["reduction"] = 0 }, naming: "reduction")
        expectRefusal(PPOCRV6DetConfig.self, try data(detector) { $0["neck_out_channels"] = 8 }, naming: "neck_out_channels")
        expectRefusal(PPOCRV6DetConfig.self, try data(detector) { $0["kernel_list"] = [0, 2, 2] }, naming: "kernel_list")
    }
}
