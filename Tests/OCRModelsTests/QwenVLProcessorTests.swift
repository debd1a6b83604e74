// The Qwen-VL processor against transformers' (tools/make_qwenvl_fixtures.py): smart_resize,
// grids, patches, the chat prompt with expanded placeholders and its token ids, and the
// recognizer loaded through the registry.

import Foundation
import MLXEngine
import OCRImaging
import OCRText
import XCTest

@testable import OCRModels

final class QwenVLProcessorTests: XCTestCase {
    func images(_ name: String) throws -> [RGBImage] {
        try (0 ..< 2).map {
            try ImageCodec.decode(contentsOf: QwenVLFixture.folder(name).appendingPathComponent("images/image\($0).png"))
        }
    }

    func processor(_ name: String) throws -> QwenVLImageProcessor {
        let data = try Data(contentsOf: QwenVLFixture.folder(name).appendingPathComponent("preprocessor_config.json"))
        return QwenVLImageProcessor(config: try JSONDecoder().decode(QwenVLImageProcessorConfig.self, from: data))
    }

    func testSmartResizeMatchesTransformers() throws {
        for name in ["qwen2_5_vl", "qwen3_vl"] {
            for c in try QwenVLFixture.expected(name).smart_resize_cases {
                let r = try? QwenVLImageProcessor.smartResize(height: c[0], width: c[1], factor: c[2], minPixels: c[3], maxPixels: c[4])
                if c[5] < 0 {
                    XCTAssertNil(r, "\(c)")
                } else {
                    XCTAssertEqual(r.map { [$0.height, $0.width] }, [c[5], c[6]], "\(c)")
                }
            }
        }
    }

    func testDefaultMaxPixelsBoundsTheTokenCount() throws {
        let config = QwenVLImageProcessorConfig(patchSize: 14, imageMean: [0, 0, 0], imageStd: [1, 1, 1])
        let (h, w) = try QwenVLImageProcessor.smartResize(
            height: 8000, width: 6000, factor: 28, minPixels: config.minPixels, maxPixels: config.maxPixels)
        XCTAssertLessThanOrEqual(h * w / (28 * 28), 1280)
    }

    /// Grids exact; patches exact where no resize happens, within one 8-bit level after the
    /// bicubic resize (ours is float, Pillow's fixed-point).
    func checkPatches(_ name: String, exactRows: Int) throws {
        let e = try QwenVLFixture.expected(name)
        let (pixels, grids) = try processor(name)(images(name))
        XCTAssertEqual(grids, e.image_grid_thw)
        XCTAssertEqual(pixels.shape, e.pixel_values_shape)
        let expected = try QwenVLFixture.pixels(name)
        let diff = (pixels - expected).abs()
        if exactRows > 0 {
            XCTAssertLessThan(diff.sliced(axis: 0, from: 0, to: exactRows).max(axes: nil).item(Float.self), 1e-5)
        }
        let std = try processor(name).config.imageStd.min()!
        let oneLevel = 1 / 255 / std
        XCTAssertLessThanOrEqual(diff.max(axes: nil).item(Float.self), oneLevel * 1.001)
        let off = (diff .> 1e-4).asType(.float32).mean(axes: nil).item(Float.self)
        XCTAssertLessThan(off, 0.02, "\(name): share of patch values off by one level")
    }

    func testQwen25Patches() throws { try checkPatches("qwen2_5_vl", exactRows: 24) }
    func testQwen3Patches() throws { try checkPatches("qwen3_vl", exactRows: 0) }

    func checkPrompt(_ name: String, system: String?) throws {
        let e = try QwenVLFixture.expected(name)
        let text = QwenVLPrompt.chat(user: "Free OCR.", images: 2, system: system)
        XCTAssertEqual(text, e.prompt)
        let tokenizer = try Tokenizer(directory: QwenVLFixture.folder(name))
        let p = try processor(name)
        let expanded = try QwenVLPrompt.expandPlaceholders(text, counts: e.image_grid_thw.map(p.placeholderCount))
        XCTAssertEqual(tokenizer.encode(expanded, addSpecialTokens: false), e.input_ids)
        XCTAssertThrowsError(try QwenVLPrompt.expandPlaceholders(text, counts: [1]))
    }

    func testQwen25PromptIds() throws { try checkPrompt("qwen2_5_vl", system: QwenVLPrompt.defaultSystem) }
    func testQwen3PromptIds() throws { try checkPrompt("qwen3_vl", system: nil) }

    func testRegistryLoadsRecognizer() throws {
        XCTAssertTrue(OCRModelRegistry.modelTypes.contains("qwen2_5_vl"))
        XCTAssertTrue(OCRModelRegistry.modelTypes.contains("qwen3_vl"))
        let recognizer = try XCTUnwrap(OCRModelRegistry.load(QwenVLFixture.folder("qwen3_vl")) as? QwenVLTextRecognizer)
        let image = try images("qwen3_vl")[0]
        let (ids, pixels, grids) = try recognizer.inputs(images: [image], prompt: "Free OCR.")
        XCTAssertEqual(grids, [[1, 4, 6]])
        XCTAssertEqual(pixels?.dim(0), 24)
        XCTAssertEqual(ids.filter { $0 == recognizer.model.config.imageTokenId }.count, 6)
        recognizer.generation.maxNewTokens = 5
        let tokens = try recognizer.generate(image, prompt: "Free OCR.")
        XCTAssertLessThanOrEqual(tokens.count, 5)
        XCTAssertFalse(tokens.contains { recognizer.generation.stopTokenIds.contains($0) })
        XCTAssertEqual(try recognizer.recognize([image], prompt: "Free OCR.").count, 1)
    }

    func testRecognizerBoundsImageTokens() throws {
        let recognizer = try QwenVLTextRecognizer(folder: QwenVLFixture.folder("qwen2_5_vl"), maxImageTokens: 4)
        let big = try images("qwen2_5_vl")[1]
        let (ids, _, grids) = try recognizer.inputs(images: [big], prompt: nil)
        XCTAssertLessThanOrEqual(recognizer.processor.placeholderCount(grid: grids[0]), 4)
        XCTAssertEqual(ids.filter { $0 == recognizer.model.config.imageTokenId }.count, recognizer.processor.placeholderCount(grid: grids[0]))
        let unbounded = try QwenVLTextRecognizer(folder: QwenVLFixture.folder("qwen2_5_vl"), maxImageTokens: nil)
        XCTAssertEqual(try unbounded.inputs(images: [big], prompt: nil).grids, [[1, 10, 18]])
    }

    func testRepetitionGuard() {
        let guardrail = RepetitionGuard(maxPeriod: 3, minRepeats: 4)
        XCTAssertNil(guardrail.repeatedPeriod([1, 2, 3, 1, 2, 3, 1, 2, 3]))
        XCTAssertEqual(guardrail.repeatedPeriod([9, 1, 2, 1, 2, 1, 2, 1, 2]), 2)
        XCTAssertEqual(guardrail.trimmed([9, 1, 2, 1, 2, 1, 2, 1, 2]), [9, 1, 2])
        XCTAssertEqual(guardrail.repeatedPeriod([5, 7, 7, 7, 7]), 1)
    }
}
