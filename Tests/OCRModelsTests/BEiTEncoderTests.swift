// BEiT encoders against transformers' BeitModel: checkpoint keys of the TrOCR-style fixture,
// a square BEiT alone (absolute positions, per-layer relative bias, no layer scale, final
// layernorm), the relative position index, and the configurations that are refused.
// Fixtures by tools/make_trocr_fixtures.py; logits and generation parity are in TrOCRTests.

import Foundation
import MLXEngine
import MLXNN
@testable import OCRModels
import XCTest

final class BEiTEncoderTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    func encoderConfig(_ json: String) throws -> VisionEncoderConfig {
        try JSONDecoder().decode(VisionEncoderConfig.self, from: Data(json.utf8))
    }

    func testCheckpointKeysAreHuggingFaceNames() throws {
        let model = try VisionEncoderDecoder.load(from: Self.fixtures.appendingPathComponent("trocr-beit"))
        XCTAssertTrue(model.encoder is BEiTEncoder)
        let keys = Set(model.parameters().map(\.key))
        for key in ["encoder.embeddings.cls_token", "encoder.embeddings.mask_token",
                    "encoder.encoder.layer.0.attention.attention.query.bias",
                    "encoder.encoder.layer.1.attention.attention.relative_position_bias.relative_position_bias_table",
                    "encoder.encoder.relative_position_bias.relative_position_bias_table",
                    "encoder.encoder.layer.1.lambda_1", "encoder.encoder.layer.0.lambda_2", "encoder.pooler.layernorm.weight"] {
            XCTAssertTrue(keys.contains(key), key)
        }
        for key in ["encoder.encoder.layer.0.attention.attention.key.bias", "encoder.layernorm.weight",
                    "encoder.embeddings.position_embeddings", "enc_to_dec_proj.weight"] {
            XCTAssertFalse(keys.contains(key), key)
        }
    }

    func testSquareEncoderMatchesTransformers() throws {
        let folder = Self.fixtures.appendingPathComponent("beit-square")
        let config = try JSONDecoder().decode(VisionEncoderConfig.self, from: Data(contentsOf: folder.appendingPathComponent("config.json")))
        let encoder = try BEiTEncoder(config, pooler: false)
        encoder.train(false)
        try encoder.update(parameters: try loadSafeTensors(path: folder.appendingPathComponent("model.safetensors").path).arrays,
                           verify: .all, source: "beit-square")
        let keys = Set(encoder.parameters().map(\.key))
        XCTAssertTrue(keys.contains("embeddings.position_embeddings") && keys.contains("layernorm.weight"))
        XCTAssertFalse(keys.contains("encoder.layer.0.lambda_1"), "layer_scale_init_value 0")
        let expected = try loadSafeTensors(path: folder.appendingPathComponent("expected.safetensors").path).arrays
        let hidden = encoder(expected["pixel_values"]!)
        XCTAssertEqual(hidden.shape, [2, 17, 24])
        XCTAssertLessThanOrEqual(abs(hidden - expected["last_hidden_state"]!).max().item(Float.self), 1e-4)
    }

    func testRelativePositionIndex() {
        // 2×3 grid: 7 tokens, 3·5 = 15 offsets, then CLS→patch 15, patch→CLS 16, CLS→CLS 17.
        let index = BEiTRelativePositionBias.index(grid: (2, 3))
        XCTAssertEqual(index.count, 49)
        XCTAssertEqual(Array(index[0 ..< 7]), [17, 15, 15, 15, 15, 15, 15])
        XCTAssertEqual((1 ..< 7).map { index[$0 * 7] }, [16, 16, 16, 16, 16, 16])
        // Patch (0,0) to itself: offset (0,0) → (1)·5 + 2 = 7; patch (1,2) → patch (0,0): (2)·5 + 4 = 14.
        XCTAssertEqual(index[1 * 7 + 1], 7)
        XCTAssertEqual(index[6 * 7 + 1], 14)
        XCTAssertEqual(index[1 * 7 + 6], 0)
    }

    func testBilinearResampleWeights() {
        // Same size: identity. 3 → 5 upsampling (align_corners false): rows sum to 1.
        XCTAssertEqual(BEiTRelativePositionBias.bilinear(from: 3, to: 3), [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let up = BEiTRelativePositionBias.bilinear(from: 3, to: 5)
        for o in 0 ..< 5 { XCTAssertEqual(up[o * 3 ..< o * 3 + 3].reduce(0, +), 1, accuracy: 1e-6) }
        XCTAssertEqual(Array(up[0 ..< 3]), [1, 0, 0])  // source −0.2 clamps to 0
        XCTAssertEqual(up[3], 0.6, accuracy: 1e-6)  // output 1: source 0.6 · 1.5 − 0.5 = 0.4
        XCTAssertEqual(up[4], 0.4, accuracy: 1e-6)
        XCTAssertEqual(Array(up[12 ..< 14]), [0, 0])  // output 4: source 2.2, clamped to the last input
        XCTAssertEqual(up[14], 1, accuracy: 1e-6)
    }

    func testNonSquareAbsolutePositionsAreRefused() throws {
        let config = try encoderConfig("""
            {"model_type": "beit", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8,
             "image_size": [16, 32], "patch_size": 8, "use_absolute_position_embeddings": true}
            """)
        XCTAssertThrowsError(try BEiTEncoder(config, pooler: false)) { error in
            XCTAssertTrue("\(error)".contains("use_absolute_position_embeddings"), "\(error)")
        }
    }

    func testDropPathOnlyInTraining() throws {
        let config = try encoderConfig("""
            {"model_type": "beit", "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 8,
             "image_size": 16, "patch_size": 8, "drop_path_rate": 0.5, "use_relative_position_bias": true}
            """)
        let encoder = try BEiTEncoder(config, pooler: false)
        XCTAssertEqual(encoder.encoder.layer.map(\.dropPath), [0, 0.5])
        let pixels = MLXRandom.normal([16, 3, 16, 16], key: MLXRandom.key(1))
        encoder.train(false)
        let a = encoder(pixels), b = encoder(pixels)
        XCTAssertEqual(abs(a - b).max().item(Float.self), 0)
        encoder.train(true)
        let c = encoder(pixels)
        XCTAssertGreaterThan(abs(a - c).max().item(Float.self), 0, "some of 16 samples drop the last layer's branches")
    }
}
