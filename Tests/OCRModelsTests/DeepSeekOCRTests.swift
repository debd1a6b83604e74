// DeepSeek-OCR (v1) against the reference built from transformers' components in
// tools/deepseek_ocr_reference.py (the published deepencoder + MoE decoder, no remote code), for
// the Base and Gundam modes: processor outputs (pixel values by checksum, crops, input ids with the
// newline / separator layout), fp32 logits, the answer-only loss, greedy ids alone and batched.

import Foundation
import MLXEngine
import OCRImaging
import XCTest

@testable import OCRModels

final class DeepSeekOCRTests: XCTestCase {
    static let name = DeepSeekFixture.v1
    static var shared: DeepSeekOCRTextRecognizer?

    func recognizer(_ mode: DeepSeekOCRMode) throws -> DeepSeekOCRTextRecognizer {
        let r = try Self.shared ?? DeepSeekOCRTextRecognizer(folder: DeepSeekFixture.folder(Self.name))
        Self.shared = r
        r.processor.config.mode = mode
        return r
    }

    /// Per mode and case: prompt ids, processed image and its features (one vision pass per image).
    static var prepared: [DeepSeekOCRMode: [(ids: [Int], input: DeepSeekOCRImageInput, features: MLXArray)]] = [:]

    func prepare(_ mode: DeepSeekOCRMode) throws -> [(ids: [Int], input: DeepSeekOCRImageInput, features: MLXArray)] {
        if let done = Self.prepared[mode] { return done }
        let (e, m) = try cases(mode)
        let r = try recognizer(mode)
        let out = try m.cases.map { c in
            let (ids, input) = try r.inputs(try DeepSeekFixture.image(Self.name, c.image), prompt: e.prompt)
            let features = r.model.imageFeatures([input])
            try eval([features])
            return (ids, input, features)
        }
        Self.prepared[mode] = out
        return out
    }

    func cases(_ mode: DeepSeekOCRMode) throws -> (DeepSeekExpected, DeepSeekModeCases) {
        let e = try DeepSeekFixture.expected(Self.name)
        return (e, e.modes![mode.rawValue]!)
    }

    func testConfig() throws {
        let r = try recognizer(.gundam)
        XCTAssertEqual(r.model.version, .v1)
        XCTAssertEqual(r.model.config.text.sparseLayers, [false, true, true])
        XCTAssertEqual(r.model.config.clip?.intermediateSize, 4 * r.model.config.sam.outputWidth)
        XCTAssertTrue(try ModelFamilies.load(DeepSeekFixture.folder(Self.name)) is DeepSeekOCRTextRecognizer)
    }

    func checkProcessor(_ mode: DeepSeekOCRMode) throws {
        let (_, m) = try cases(mode)
        for (c, p) in zip(m.cases, try prepare(mode)) {
            XCTAssertEqual(p.ids, c.input_ids, "\(mode) \(c.image)")
            XCTAssertEqual(p.input.tokenCount, c.image_tokens, "\(mode) \(c.image)")
            XCTAssertEqual([p.input.grid.columns, p.input.grid.rows], c.crop_grid, "\(mode) \(c.image)")
            XCTAssertEqual(p.input.tiles?.dim(0) ?? 0, c.local.count, "\(mode) \(c.image)")
            XCTAssertEqual(p.features.dim(0), c.image_tokens, "\(mode) \(c.image) features")
            XCTAssertEqual(DeepSeekFixture.checksum(hwc: p.input.global), c.global.checksum, "\(mode) \(c.image) global view")
            for (i, record) in c.local.enumerated() {
                let crop = p.input.tiles!.sliced(axis: 0, from: i, to: i + 1).squeezed(axis: 0)
                XCTAssertEqual(DeepSeekFixture.checksum(hwc: crop), record.checksum, "\(mode) \(c.image) crop \(i)")
            }
        }
    }

    func testBaseProcessor() throws { try checkProcessor(.base) }
    func testGundamProcessor() throws { try checkProcessor(.gundam) }

    /// The other modes' layouts: Tiny / Small squeeze to a square, Large pads to 1280.
    func testModeLayouts() throws {
        var p = DeepSeekOCRImageProcessor(config: DeepSeekOCRProcessorConfig(version: .v1))
        let expected: [(DeepSeekOCRMode, Int, Int)] = [(.tiny, 512, 73), (.small, 640, 111), (.base, 1024, 273), (.large, 1280, 421)]
        for (mode, side, tokens) in expected {
            p.config.mode = mode
            let layout = try p.layout(width: 900, height: 300)
            XCTAssertEqual(layout.globalSide, side, "\(mode)")
            XCTAssertEqual(layout.tokenCount, tokens, "\(mode)")
            XCTAssertNil(layout.grid, "\(mode)")
        }
        p.config.mode = .gundam
        XCTAssertNil(try p.layout(width: 640, height: 640).grid)
    }

    /// Tile grids of v1's dynamic_preprocess (2 … 9 and 2 … 6 crops of 640) and v2's
    /// get_optimal_tiled_canvas (2 … 6 tiles of 768), as Python computes them.
    func testTileGridsMatchPython() throws {
        let sizes = [(1000, 800), (1250, 1000), (2000, 1000), (641, 100), (3000, 700), (800, 1000), (700, 1400)]
        let v1Nine = [[2, 2], [3, 2], [4, 2], [6, 1], [4, 1], [2, 3], [1, 2]]
        let v1Six = [[2, 2], [3, 2], [2, 1], [6, 1], [4, 1], [2, 3], [1, 2]]
        let v2 = [[2, 2], [2, 2], [2, 1], [6, 1], [4, 1], [2, 3], [1, 2]]
        for (i, (w, h)) in sizes.enumerated() {
            for (max, expected) in [(9, v1Nine[i]), (6, v1Six[i])] {
                let g = DeepSeekOCRImageProcessor.bestGrid(
                    width: w, height: h, tile: 640, min: 2, max: max, candidates: DeepSeekOCRImageProcessor.pythonSetOrder)
                XCTAssertEqual([g.columns, g.rows], expected, "v1 \(w)×\(h) max \(max)")
            }
            let g = DeepSeekOCRImageProcessor.bestGrid(width: w == 641 ? 800 : w, height: h, tile: 768, min: 2, max: 6, candidates: nil)
            XCTAssertEqual([g.columns, g.rows], v2[i], "v2 \(w)×\(h)")
        }
    }

    func checkLogits(_ mode: DeepSeekOCRMode) throws {
        let (_, m) = try cases(mode)
        let r = try recognizer(mode)
        for (c, p) in zip(m.cases, try prepare(mode)) {
            let logits = try r.model(inputIds: [c.input_ids], images: [p.input], features: p.features).squeezed(axis: 0)
            var worst: Float = 0
            for (row, values) in c.logits.rows {
                worst = Swift.max(worst, DeepSeekFixture.maxAbsDiff(
                    logits.sliced(axis: 0, from: Int(row)!, to: Int(row)! + 1).asArray(Float.self), values))
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(mode) \(c.image) logits")
            let n = c.input_ids.count
            let labels = (0 ..< n).map { $0 >= n - 4 ? Int32(c.input_ids[$0]) : Int32(deepSeekIgnoreIndex) }
            let loss = try r.model.loss(inputIds: [c.input_ids], images: [p.input], features: p.features, labels: MLXArray(labels, [1, n]))
            XCTAssertEqual(loss.item(Float.self), c.loss_last4, accuracy: 1e-4, "\(mode) \(c.image) loss")
        }
    }

    func testBaseLogits() throws { try checkLogits(.base) }
    func testGundamLogits() throws { try checkLogits(.gundam) }

    func checkGreedy(_ mode: DeepSeekOCRMode) throws {
        let (e, m) = try cases(mode)
        let r = try recognizer(mode)
        let options = DeepSeekFixture.greedy(e)
        let prepared = try prepare(mode)
        for (c, p) in zip(m.cases, prepared) {
            let alone = try r.model.generate(prompts: [p.ids], images: [p.input], features: p.features, options: options)[0]
            XCTAssertEqual(alone, c.greedy, "\(mode) \(c.image)")
        }
        let batched = try r.model.generate(
            prompts: prepared.map(\.ids), images: prepared.map(\.input),
            features: concatenated(prepared.map(\.features), axis: 0), options: options)
        XCTAssertEqual(batched, m.batch_greedy, "\(mode) batch")
    }

    func testBaseGreedyAloneAndBatched() throws { try checkGreedy(.base) }
    func testGundamGreedyAloneAndBatched() throws { try checkGreedy(.gundam) }
}
