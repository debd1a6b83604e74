// `hf` and `peft` exports: transformers' key layouts (TrOCR's own, Qwen-VL's 5.x layout from an
// older checkpoint, PP-OCR's LearnableRepLayer branches), companions copied, adapters refused
// where their deployers cannot load them. Loading in transformers itself is checked by
// tools/check_export.py (Python), outside `make test`.

import Foundation
import MLXEngine
import OCRExport
import OCRFineTune
import OCRModels
import OCRTestSupport
import XCTest

final class HuggingFaceExportTests: XCTestCase {
    func export(_ model: URL, format: ExportFormat = .hf) throws -> (URL, ExportOutcome) {
        let out = ExportFixtures.temporaryFolder("hf").appendingPathComponent("out")
        return (out, try Exporter.run(ExportRequest(source: model, format: format, out: out)))
    }

    func keys(_ folder: URL) throws -> [String: [Int]] {
        try loadSafeTensors(path: folder.appendingPathComponent("model.safetensors").path).arrays.mapValues(\.shape)
    }

    func testTrOCRKeepsTransformersKeys() throws {
        let model = ModelFixtures.url("trocr-vit")
        let (out, outcome) = try export(model)
        XCTAssertEqual(try keys(out), try keys(model))
        XCTAssertEqual(outcome.manifest.shared, ["config.json", "expected.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"])
    }

    func testQwenVLInTransformers5Layout() throws {
        let model = ModelFixtures.qwenVL("qwen2_5_vl")
        let original = try keys(model)
        XCTAssertTrue(original.keys.contains("visual.patch_embed.proj.weight"))
        let (out, _) = try export(model)
        let exported = try keys(out)
        XCTAssertEqual(exported.count, original.count - (original["lm_head.weight"] != nil && exported["lm_head.weight"] == nil ? 1 : 0))
        XCTAssertEqual(exported["model.visual.patch_embed.proj.weight"], original["visual.patch_embed.proj.weight"])
        XCTAssertEqual(exported["model.language_model.embed_tokens.weight"], original["model.embed_tokens.weight"])
        XCTAssertTrue(exported.keys.allSatisfy { $0.hasPrefix("model.language_model.") || $0.hasPrefix("model.visual.") || $0 == "lm_head.weight" })
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("chat_template.json").path))
    }

    /// From transformers' own names (and fused experts) back to DeepSeek's original ones, which
    /// transformers' save_pretrained writes and from_pretrained loads: every tensor equal to the
    /// original-layout fixture's.
    func testDeepSeekOCR2InTheOriginalLayout() throws {
        let fixture = ModelFixtures.url("deepseek_ocr2-tiny")
        let original = try loadSafeTensors(path: fixture.appendingPathComponent("model.safetensors").path).arrays
        let transformersLayout = fixture.appendingPathComponent("transformers-layout")
        XCTAssertTrue(try keys(transformersLayout).keys.contains { $0.hasPrefix("model.vision_tower.sam_encoder.") })
        let (out, outcome) = try export(transformersLayout)
        let exported = try loadSafeTensors(path: out.appendingPathComponent("model.safetensors").path).arrays
        XCTAssertEqual(Set(exported.keys), Set(original.keys))
        for (key, value) in original {
            XCTAssertEqual(abs(exported[key]! - value.asType(.float32)).max().item(Float.self), 0, key)
        }
        XCTAssertEqual(outcome.manifest.shared, ["config.json"])
        // And from the original layout, with its tokenizer and processor files.
        let (again, second) = try export(fixture)
        XCTAssertEqual(try keys(again), original.mapValues(\.shape))
        XCTAssertTrue(second.manifest.shared.contains("tokenizer.json") && second.manifest.shared.contains("processor_config.json"))
    }

    func testPPOCRAsTransformersRepLayers() throws {
        let model = try ExportFixtures.ppocrModel()
        let (out, _) = try export(model)
        let exported = try keys(out)
        XCTAssertFalse(exported.keys.contains { $0.contains("reparam_conv") })
        let layer = "model.backbone.encoder.blocks.1.layers.0.depthwise_convolution"
        XCTAssertEqual(exported["\(layer).conv_symmetric.0.convolution.weight"], [8, 1, 3, 3])
        XCTAssertEqual(exported["\(layer).conv_small_symmetric.convolution.weight"], [8, 1, 1, 1])
        XCTAssertNotNil(exported["\(layer).identity.running_var"])
        // Stride [2, 1] (a pair): no identity branch.
        XCTAssertNil(exported["model.backbone.encoder.blocks.3.layers.0.depthwise_convolution.identity.running_var"])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(config["model_type"] as? String, "pp_ocrv5_mobile_rec")
        XCTAssertEqual((config["backbone_config"] as? [String: Any])?["conv_symmetric_num"] as? Int, 1)
    }

    /// mlx-vlm's converted layout; `--quantize 4` packs the language model in MLX's affine groups
    /// and leaves the vision tower in float.
    func testMLXLayoutAndQuantization() throws {
        let model = ModelFixtures.qwenVL("qwen2_5_vl")
        let out = ExportFixtures.temporaryFolder("mlx").appendingPathComponent("out")
        _ = try Exporter.run(ExportRequest(source: model, format: .mlx, variants: ["4"], out: out))
        let arrays = try loadSafeTensors(path: out.appendingPathComponent("model.safetensors").path).arrays
        XCTAssertEqual(arrays["vision_tower.patch_embed.proj.weight"]?.shape, [32, 2, 14, 14, 3])
        XCTAssertEqual(arrays["vision_tower.blocks.0.attn.qkv.weight"]?.dtype, .float32)
        let q = "language_model.model.layers.0.self_attn.q_proj"
        XCTAssertEqual(arrays["\(q).weight"]?.dtype, .uint32)
        XCTAssertEqual(arrays["\(q).weight"]?.shape, [64, 8])  // 64 inputs · 4 bits / 32
        XCTAssertEqual(arrays["\(q).scales"]?.shape, [64, 1])
        XCTAssertNotNil(arrays["language_model.lm_head.biases"])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual((config["quantization"] as? [String: Int])?["bits"], 4)
        XCTAssertThrowsError(try Exporter.run(ExportRequest(source: model, format: .mlx, variants: ["4", "8"], out: out)))
    }

    func testPeftNeedsARunWithAnAdapter() throws {
        let model = try ExportFixtures.ppocrModel()
        XCTAssertThrowsError(try export(model, format: .peft)) { error in
            XCTAssertTrue("\(error)".contains("not a run folder"), "\(error)")
        }
        let run = ExportFixtures.temporaryFolder("run")
        try RunOrigin(model: model.path, data: "d", command: []).write(to: run)
        XCTAssertThrowsError(try export(run, format: .peft)) { error in
            XCTAssertTrue("\(error)".contains("holds no PEFT adapter"), "\(error)")
        }
    }
}
