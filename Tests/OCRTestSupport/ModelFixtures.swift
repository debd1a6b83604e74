// Where the tiny model fixtures are, and small configurations, for every test target that loads
// models (OCRModelsTests, OCRFineTuneTests). The fixtures live in OCRModelsTests/Fixtures, written
// by the tools/make_*_fixtures.py scripts; other targets find them from this file's path.

import Foundation
import MLXEngine
import OCRModels

public enum ModelFixtures {
    /// Tests/OCRModelsTests/Fixtures.
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("OCRModelsTests/Fixtures")

    public static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// A tiny Qwen-VL folder: "qwen2_5_vl" or "qwen3_vl".
    public static func qwenVL(_ name: String) -> URL { url("\(name)-tiny") }

    /// The patches transformers' processor made for a Qwen-VL fixture's prompt.
    public static func qwenVLPixels(_ name: String) throws -> MLXArray {
        let path = qwenVL(name).appendingPathComponent("expected_pixel_values.safetensors").path
        guard let pixels = try loadSafeTensors(path: path).arrays["pixel_values"] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
        }
        return pixels
    }
}

/// A PP-OCRv5-shaped recognizer config at a quarter of the width, with `classes` head classes.
public func tinyPPOCRConfig(classes: Int = 12) -> PPOCRRecognizerConfig {
    PPOCRRecognizerConfig(
        backboneConfig: PPLCNetV3Config(scale: 0.25, divisor: 8), hiddenSize: 32, headOutChannels: classes,
        numAttentionHeads: 4)
}
