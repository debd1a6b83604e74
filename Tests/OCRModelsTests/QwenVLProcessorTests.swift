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

    func testVisualTokensFromTheImageSizeEqualThePlaceholderCounts() throws {
        for name in ["qwen2_5_vl", "qwen3_vl"] {
            let e = try QwenVLFixture.expected(name)
            let p = try processor(name)
            let counts = try images(name).map { try p.visualTokens(width: $0.width, height: $0.height) }
            XCTAssertEqual(counts, e.image_grid_thw.map(p.placeholderCount), name)
        }
    }

    /// Grids and patches equal transformers' (the C Pillow resize with Pillow 13's pass order is
    /// byte-exact, so only float rounding of the normalization remains).
    func checkPatches(_ name: String) throws {
        let e = try QwenVLFixture.expected(name)
        let (pixels, grids) = try processor(name)(images(name))
        XCTAssertEqual(grids, e.image_grid_thw)
        XCTAssertEqual(pixels.shape, e.pixel_values_shape)
        let expected = try QwenVLFixture.pixels(name)
        XCTAssertLessThan((pixels - expected).abs().max(axes: nil).item(Float.self), 1e-5, name)
    }

    func testQwen25Patches() throws { try checkPatches("qwen2_5_vl") }
    func testQwen3Patches() throws { try checkPatches("qwen3_vl") }

    /// The pass orders differ only where Pillow 13 goes vertical first (out-w ≥ in-w, out-h < in-h).
    func testPillowPassOrders() throws {
        let image = try images("qwen2_5_vl")[1]  // 250×150
        let tall = (image.pillowResized(width: 140, height: 224, resampling: .bicubic, passOrder: .pillow12),
                    image.pillowResized(width: 140, height: 224, resampling: .bicubic, passOrder: .pillow13))
        XCTAssertEqual(tall.0.pixels, tall.1.pixels)  // the width shrinks: horizontal first in both
        let smaller = (image.pillowResized(width: 200, height: 100, resampling: .bicubic, passOrder: .pillow12),
                       image.pillowResized(width: 200, height: 100, resampling: .bicubic, passOrder: .pillow13))
        XCTAssertEqual(smaller.0.pixels, smaller.1.pixels)  // both shrink: horizontal first (checked on Pillow 13.0)
        let wide = (image.pillowResized(width: 300, height: 100, resampling: .bicubic, passOrder: .pillow12),
                    image.pillowResized(width: 300, height: 100, resampling: .bicubic, passOrder: .pillow13))
        XCTAssertNotEqual(wide.0.pixels, wide.1.pixels)  // 300 ≥ 250, 100 < 150: Pillow 13 goes vertical first
    }

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

    /// Conversations rendered by transformers' apply_chat_template with the folder's real template
    /// (tools/make_qwenvl_fixtures.py, chat_cases.json): our text and token ids equal, through the
    /// template and through the hard-coded fallback.
    func checkChatTemplate(_ name: String) throws {
        struct Case: Decodable { let system: String?; let images: Int; let text: String; let rendered: String; let input_ids: [Int] }
        let folder = QwenVLFixture.folder(name)
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: folder.appendingPathComponent("chat_cases.json")))
        XCTAssertEqual(cases.count, 3)
        let recognizer = try QwenVLTextRecognizer(folder: folder)
        XCTAssertNotNil(recognizer.chatTemplate)
        let grids = try QwenVLFixture.expected(name).image_grid_thw
        for c in cases {
            recognizer.system = c.system
            for template in [recognizer.chatTemplate, nil] {
                let saved = recognizer.chatTemplate
                recognizer.chatTemplate = template
                defer { recognizer.chatTemplate = saved }
                let text = try recognizer.promptText(images: c.images, prompt: c.text)
                XCTAssertEqual(text, c.rendered, "\(name) template: \(template != nil)")
                let expanded = try QwenVLPrompt.expandPlaceholders(
                    text, counts: grids.prefix(c.images).map(recognizer.processor.placeholderCount))
                XCTAssertEqual(recognizer.tokenizer.encode(expanded, addSpecialTokens: false), c.input_ids)
            }
        }
        let images = try images(name)
        recognizer.system = nil
        XCTAssertEqual(try recognizer.inputs(images: images, prompt: cases[0].text).ids, cases[0].input_ids)
    }

    func testQwen25ChatTemplate() throws { try checkChatTemplate("qwen2_5_vl") }

    /// A folder without a template falls back to the hard-coded prompt; a broken one is an error.
    func testFolderWithoutTemplateFallsBack() throws {
        let fm = FileManager.default
        let copy = fm.temporaryDirectory.appendingPathComponent("qwen-no-template-\(UUID().uuidString)")
        try fm.copyItem(at: QwenVLFixture.folder("qwen2_5_vl"), to: copy)
        defer { try? fm.removeItem(at: copy) }
        try fm.removeItem(at: copy.appendingPathComponent("chat_template.json"))
        let recognizer = try QwenVLTextRecognizer(folder: copy)
        XCTAssertNil(recognizer.chatTemplate)
        XCTAssertEqual(try recognizer.inputs(images: images("qwen2_5_vl"), prompt: "Free OCR.").ids,
                       try QwenVLFixture.expected("qwen2_5_vl").input_ids)
        try "{% if %}".write(to: copy.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try QwenVLTextRecognizer(folder: copy))
    }
    func testQwen3ChatTemplate() throws { try checkChatTemplate("qwen3_vl") }

    /// Image tokens typed into a prompt, or ids that do not fit the images, are errors, not traps.
    func testMismatchedImageTokensAreErrors() throws {
        let recognizer = try QwenVLTextRecognizer(folder: QwenVLFixture.folder("qwen3_vl"))
        recognizer.generation.maxNewTokens = 2
        let image = try images("qwen3_vl")[0]
        XCTAssertThrowsError(try recognizer.recognize([image], prompt: "Read <|vision_start|><|image_pad|><|vision_end|> this")) {
            XCTAssertEqual("\($0)", "the prompt has 2 <|image_pad|> for 1 images")
        }
        let model = recognizer.model
        let (ids, pixels, grids) = try recognizer.inputs(images: [image], prompt: "Free OCR.")
        XCTAssertThrowsError(try model.generate(inputIds: ids, pixels: pixels, grids: grids + grids, options: recognizer.generation))
        XCTAssertThrowsError(try model.generate(inputIds: ids.filter { $0 != model.config.imageTokenID }, pixels: pixels, grids: grids, options: recognizer.generation))
        XCTAssertThrowsError(try model.generate(prompts: [], pixels: nil, grids: [], options: recognizer.generation))
        XCTAssertThrowsError(try qwenRopeIndex(inputIds: ids, imageTokenID: model.config.imageTokenID, grids: [[1, 2, 2]], mergeSize: 2))
    }

    func testRegistryLoadsRecognizer() throws {
        XCTAssertTrue(ModelFamilies.modelTypes.contains("qwen2_5_vl"))
        XCTAssertTrue(ModelFamilies.modelTypes.contains("qwen3_vl"))
        let recognizer = try XCTUnwrap(ModelFamilies.load(QwenVLFixture.folder("qwen3_vl")) as? QwenVLTextRecognizer)
        let image = try images("qwen3_vl")[0]
        let (ids, pixels, grids) = try recognizer.inputs(images: [image], prompt: "Free OCR.")
        XCTAssertEqual(grids, [[1, 4, 6]])
        XCTAssertEqual(pixels?.dim(0), 24)
        XCTAssertEqual(ids.filter { $0 == recognizer.model.config.imageTokenID }.count, 6)
        recognizer.generation.maxNewTokens = 5
        let tokens = try recognizer.generate(image, prompt: "Free OCR.")
        XCTAssertLessThanOrEqual(tokens.count, 5)
        XCTAssertFalse(tokens.contains { recognizer.generation.eosTokenIDs.contains($0) })
        XCTAssertEqual(try recognizer.recognize([image], prompt: "Free OCR.").count, 1)
    }

    func testRecognizerBoundsImageTokens() throws {
        let recognizer = try QwenVLTextRecognizer(folder: QwenVLFixture.folder("qwen2_5_vl"), maxImageTokens: 4)
        let big = try images("qwen2_5_vl")[1]
        let (ids, _, grids) = try recognizer.inputs(images: [big], prompt: nil)
        XCTAssertLessThanOrEqual(recognizer.processor.placeholderCount(grid: grids[0]), 4)
        XCTAssertEqual(ids.filter { $0 == recognizer.model.config.imageTokenID }.count, recognizer.processor.placeholderCount(grid: grids[0]))
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
