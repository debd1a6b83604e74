// latex-ocr-junia against the package itself: a tiny random model of the same architecture made
// with the package's own classes by tools/convert_latex_ocr_junia.py (Fixtures/latex-junia-tiny:
// the model folder, two PNGs, and the package's preprocessed pixels, encoder states, logits,
// greedy and beam ids, and training loss).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRModels
import XCTest

final class LatexJuniaTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/latex-junia-tiny")
    static var modelFolder: URL { fixtures.appendingPathComponent("model") }

    struct Summary: Decodable {
        let images: [String]
        let greedy_texts: [String]
        let beam3_ids: [[Int]]
        let beam3_texts: [String]
        let train_texts: [String]
        let train_loss: Double
    }

    func expected() throws -> [String: MLXArray] {
        try loadSafeTensors(path: Self.fixtures.appendingPathComponent("expected.safetensors").path).arrays
    }

    func summary() throws -> Summary {
        try JSONDecoder().decode(Summary.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json")))
    }

    func images() throws -> [RGBImage] {
        try summary().images.map { try ImageCodec.decode(contentsOf: Self.fixtures.appendingPathComponent($0)) }
    }

    func recognizer() throws -> LatexJuniaTextRecognizer {
        try LatexJuniaTextRecognizer(folder: Self.modelFolder)
    }

    func maxDifference(_ a: MLXArray, _ b: MLXArray) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return abs(a.asType(.float32) - b.asType(.float32)).max().item(Float.self)
    }

    /// Ids up to and including the first EOS (the package pads finished rows with EOS).
    func trimmed(_ ids: [Int], eos: Int) -> [Int] {
        guard let end = ids.firstIndex(of: eos) else { return ids }
        return Array(ids[...end])
    }

    // MARK: Tokenizer and preprocessing

    func testTokenizerEncodesAndDecodesAsThePackage() throws {
        let r = try recognizer()
        let t = r.tokenizer
        let prefix = try XCTUnwrap(expected()["prefix_ids"]).asArray(Int32.self).prefix(9).map(Int.init)
        XCTAssertEqual(Array(t.encode("x^{2}+\\a").dropLast()), prefix)
        XCTAssertEqual(t.encode("\\frac{a}{b}"), [1, 4, 30, 14, 6, 31, 7, 6, 8, 7, 24, 8, 2])
        XCTAssertEqual(t.encode("é☃"), [1, 100, 3, 2], "unknown characters are <unk>")
        XCTAssertEqual(t.encode("\u{212B}"), [1, 3, 2], "Å as ANGSTROM SIGN is not the vocabulary's U+00C5 (code points, not canonical equivalence)")
        XCTAssertEqual(t.encode("abcdef", maxLength: 4), [1, 6, 24, 2], "truncation keeps the EOS last")
        XCTAssertEqual(t.decode([6, 0, 1, 3, 24, 2, 31]), "ab", "specials dropped, stops at EOS")
        XCTAssertEqual(t.vocabularySize, 166)
    }

    func testPreprocessingEqualsThePackagesPixels() throws {
        let r = try recognizer()
        let imgs = try images()
        XCTAssertEqual(r.preprocessor.resizedSize(width: 200, height: 40).width, 128)
        XCTAssertEqual(r.preprocessor.resizedSize(width: 200, height: 40).height, 26)
        XCTAssertEqual(r.preprocessor.resizedSize(width: 50, height: 30).width, 53)
        let pixels = r.preprocessor.batch(imgs)
        XCTAssertEqual(maxDifference(pixels, try XCTUnwrap(expected()["pixels"])), 0, "Pillow resize, luma and padding are bit-exact")
    }

    // MARK: Model parity

    func testEncoderStatesAndLogitsMatchThePackage() throws {
        let r = try recognizer()
        let e = try expected()
        let pixels = try XCTUnwrap(e["pixels"])
        let states = r.model.encode(pixels)
        XCTAssertLessThanOrEqual(maxDifference(states, try XCTUnwrap(e["encoder_hidden_states"])), 1e-4)
        let prefix = try XCTUnwrap(e["prefix_ids"])
        let logits = r.model.decode(prefix, encoderStates: states)
        XCTAssertLessThanOrEqual(maxDifference(logits, try XCTUnwrap(e["prefix_logits"])), 1e-4)

        // Incremental decoding with the cache gives the same logits as the full prefix.
        let memory = r.model.crossMemory(states)
        let caches = r.model.decoder_blocks.map { _ in KVCache() }
        var steps: [MLXArray] = []
        for i in 0 ..< prefix.dim(1) {
            steps.append(r.model.decodeSteps(prefix.sliced(axis: 1, from: i, to: i + 1), memory: memory, mask: nil, caches: caches))
        }
        XCTAssertLessThanOrEqual(maxDifference(concatenated(steps, axis: 1), logits), 1e-4)
    }

    func testGreedyIdsAndTextsMatchThePackage() throws {
        let r = try recognizer()
        let e = try expected()
        let greedy = try XCTUnwrap(e["greedy_ids"])
        let rows = greedy.dim(0), cols = greedy.dim(1)
        let flat = greedy.asArray(Int32.self).map(Int.init)
        let generated = try r.generate(try images())
        for i in 0 ..< rows {
            let want = trimmed(Array(flat[i * cols + 1 ..< (i + 1) * cols]), eos: r.tokenizer.eosID)
            XCTAssertEqual(generated[i], want, "image \(i)")
        }
        XCTAssertEqual(try r.recognize(try images(), prompt: nil), try summary().greedy_texts)
    }

    func testBeamSearchMatchesThePackage() throws {
        let r = try recognizer()
        let s = try summary()
        XCTAssertEqual(r.decoding.numBeams, 1, "generation_config.json: greedy by default")
        r.decoding.numBeams = 3  // the package's predict.py default
        let generated = try r.generate(try images())
        for (i, want) in s.beam3_ids.enumerated() {
            XCTAssertEqual(generated[i], trimmed(Array(want.dropFirst()), eos: r.tokenizer.eosID), "image \(i)")
        }
        XCTAssertEqual(try r.recognize(try images(), prompt: nil), s.beam3_texts)
    }

    // MARK: Folder

    func testFolderRoundTripKeepsThePackagesKeysAndLayout() throws {
        let r = try recognizer()
        let original = try loadSafeTensors(path: Self.modelFolder.appendingPathComponent("model.safetensors").path).arrays
        let written = r.model.checkpointWeights()
        XCTAssertEqual(Set(written.keys), Set(original.keys))
        XCTAssertTrue(written.keys.contains("decoder_blocks.0.cross_attn.in_proj_weight"))
        for (key, value) in original {
            XCTAssertEqual(maxDifference(try XCTUnwrap(written[key]), value), 0, key)
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("junia-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try r.write(to: out)
        let again = try ModelFamilies.load(out)
        let reloaded = try XCTUnwrap(again as? LatexJuniaTextRecognizer)
        XCTAssertEqual(reloaded.tokenizer, r.tokenizer)
        XCTAssertEqual(reloaded.decoding, r.decoding)
        XCTAssertEqual(try reloaded.generate(try images()), try r.generate(try images()))
    }

    func testMissingWeightsNameTheConverter() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("junia-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.modelFolder.appendingPathComponent("config.json"), to: out.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelFamilies.load(out)) { error in
            XCTAssertTrue("\(error)".contains("convert_latex_ocr_junia.py"), "\(error)")
        }
    }
}
