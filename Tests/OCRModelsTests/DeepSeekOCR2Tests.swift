// DeepSeek-OCR 2 against transformers' DeepseekOcr2ForConditionalGeneration
// (tools/make_deepseek_ocr_fixtures.py): processor outputs (pixel values by checksum, tiles,
// input ids, image-token count), fp32 logits, the answer-only loss, greedy ids alone and in one
// left-padded batch, for both key layouts.

import Foundation
import MLXEngine
import OCRImaging
import XCTest

@testable import OCRModels

final class DeepSeekOCR2Tests: XCTestCase {
    static let name = DeepSeekFixture.v2
    static var shared: DeepSeekOCRTextRecognizer?

    /// Per case: prompt ids, processed image and its features (one vision pass per image).
    static var prepared: [(ids: [Int], input: DeepSeekOCRImageInput, features: MLXArray)] = []

    func prepare() throws -> [(ids: [Int], input: DeepSeekOCRImageInput, features: MLXArray)] {
        if !Self.prepared.isEmpty { return Self.prepared }
        let e = try DeepSeekFixture.expected(Self.name)
        let r = try recognizer()
        Self.prepared = try e.cases!.map { c in
            let (ids, input) = try r.inputs(try DeepSeekFixture.image(Self.name, c.image), prompt: e.prompt)
            let features = r.model.imageFeatures([input])
            try eval([features])
            return (ids, input, features)
        }
        return Self.prepared
    }

    func recognizer() throws -> DeepSeekOCRTextRecognizer {
        if let r = Self.shared { return r }
        let r = try DeepSeekOCRTextRecognizer(folder: DeepSeekFixture.folder(Self.name))
        Self.shared = r
        return r
    }

    func testConfigAndProcessorSettings() throws {
        let r = try recognizer()
        XCTAssertEqual(r.model.version, .v2)
        XCTAssertEqual(r.model.config.text.sparseLayers, [false, true, true])
        XCTAssertEqual(r.processor.config.tileSize, 768)
        XCTAssertEqual(r.processor.config.maxTiles, 6)
        XCTAssertEqual(r.model.imageTokenID, try DeepSeekFixture.expected(Self.name).image_token_id)
        XCTAssertTrue(try ModelFamilies.load(DeepSeekFixture.folder(Self.name)) is DeepSeekOCRTextRecognizer)
    }

    /// Global view, tiles, token count and ids identical to transformers' processor.
    func testProcessorMatchesTransformers() throws {
        let e = try DeepSeekFixture.expected(Self.name)
        let r = try recognizer()
        for c in e.cases! {
            let image = try DeepSeekFixture.image(Self.name, c.image)
            let (ids, input) = try r.inputs(image, prompt: e.prompt)
            XCTAssertEqual(ids, c.input_ids, c.image)
            XCTAssertEqual(input.tokenCount, c.image_tokens, c.image)
            XCTAssertEqual(try r.processor.layout(width: image.width, height: image.height).tokenCount, c.image_tokens)
            XCTAssertEqual(input.tiles?.dim(0) ?? 0, c.num_local_patches, c.image)
            XCTAssertEqual(DeepSeekFixture.checksum(hwc: input.global), c.global.checksum, "\(c.image) global view")
            for (i, record) in c.local.enumerated() {
                let tile = input.tiles!.sliced(axis: 0, from: i, to: i + 1).squeezed(axis: 0)
                XCTAssertEqual(DeepSeekFixture.checksum(hwc: tile), record.checksum, "\(c.image) tile \(i)")
            }
        }
    }

    func testLogitsMatchTransformers() throws {
        let e = try DeepSeekFixture.expected(Self.name)
        let r = try recognizer()
        for (c, p) in zip(e.cases!, try prepare()) {
            let logits = try r.model(inputIds: [c.input_ids], images: [p.input], features: p.features).squeezed(axis: 0)
            var worst: Float = 0
            for (row, values) in c.logits.rows {
                let got = logits.sliced(axis: 0, from: Int(row)!, to: Int(row)! + 1).asArray(Float.self)
                worst = Swift.max(worst, DeepSeekFixture.maxAbsDiff(got, values))
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(c.image) logits")
            let total = Double(logits.sum().item(Float.self))
            XCTAssertEqual(total, c.logits.sum, accuracy: 1e-3 * Swift.max(1, c.logits.abs_sum / 1000), "\(c.image) sum")
        }
    }

    /// transformers' own key layout (fused experts) loads to the same model.
    func testTransformersKeyLayoutLoads() throws {
        let r = try recognizer()
        let model = try DeepSeekOCRModel.load(from: DeepSeekFixture.folder(Self.name).appendingPathComponent("transformers-layout"))
        model.imageTokenID = r.model.imageTokenID
        let mine = r.model.parameterDictionary()
        let theirs = model.parameterDictionary()
        XCTAssertEqual(Set(mine.keys), Set(theirs.keys))
        for (k, v) in mine { XCTAssertEqual((v - theirs[k]!).abs().max().item(Float.self), 0, k) }
        let e = try DeepSeekFixture.expected(Self.name)
        let c = e.cases![0]
        let input = try prepare()[0].input
        let last = try model(inputIds: [c.input_ids], images: [input]).squeezed(axis: 0)
            .sliced(axis: 0, from: c.input_ids.count - 1).asArray(Float.self)
        XCTAssertLessThanOrEqual(DeepSeekFixture.maxAbsDiff(last, c.logits.rows[String(c.input_ids.count - 1)]!), 1e-4)
    }

    func testAnswerOnlyLossMatchesTransformers() throws {
        let e = try DeepSeekFixture.expected(Self.name)
        let r = try recognizer()
        let (c, p) = (e.cases![0], try prepare()[0])
        let n = c.input_ids.count
        let labels = (0 ..< n).map { $0 >= n - 4 ? Int32(c.input_ids[$0]) : Int32(deepSeekIgnoreIndex) }
        let loss = try r.model.loss(inputIds: [c.input_ids], images: [p.input], features: p.features, labels: MLXArray(labels, [1, n]))
        XCTAssertEqual(loss.item(Float.self), c.loss_last4, accuracy: 1e-4)
    }

    /// Greedy ids of each image alone and of the three in one left-padded batch.
    func testGreedyAloneAndBatched() throws {
        let e = try DeepSeekFixture.expected(Self.name)
        let r = try recognizer()
        let options = DeepSeekFixture.greedy(e)
        let prepared = try prepare()
        for (c, p) in zip(e.cases!, prepared) {
            let alone = try r.model.generate(prompts: [p.ids], images: [p.input], features: p.features, options: options)[0]
            XCTAssertEqual(alone, DeepSeekFixture.cut(c.greedy, eos: e.eos_token_id), c.image)
        }
        let batched = try r.model.generate(
            prompts: prepared.map(\.ids), images: prepared.map(\.input),
            features: concatenated(prepared.map(\.features), axis: 0), options: options)
        XCTAssertEqual(batched, e.batch_greedy!)
        // The vision pass inside generation gives the same as precomputed features.
        XCTAssertEqual(try r.model.generate(prompts: [prepared[0].ids], images: [prepared[0].input], options: options)[0],
                       DeepSeekFixture.cut(e.cases![0].greedy, eos: e.eos_token_id))
    }
}
