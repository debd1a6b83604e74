// TrOCR-style vision encoder–decoders against transformers: pixel values (Pillow resize),
// encoder output, decoder logits, greedy and beam-search token ids, on the tiny random
// checkpoints made by tools/make_trocr_fixtures.py (ViT + learned positions + tied output +
// enc_to_dec_proj; DeiT + sinusoidal positions + scaled embeddings + untied output; BEiT on a
// non-square grid + layer scale + shared and per-layer relative position bias).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRModels
import XCTest

final class TrOCRTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static let kinds = ["trocr-vit", "trocr-deit", "trocr-beit"]

    struct Expected: Decodable {
        struct Run: Decodable {
            let options: [String: JSONValue]
            let token_ids: [[Int]]
            let texts: [String]
        }
        let images: [String]
        let logit_tokens: [Int]
        let generation: [String: Run]
    }

    enum JSONValue: Decodable {
        case number(Double)
        case flag(Bool)
        case text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .flag(b) }
            else if let t = try? c.decode(String.self) { self = .text(t) }
            else { self = .number(try c.decode(Double.self)) }
        }
        var number: Double? { if case .number(let v) = self { return v } else { return nil } }
    }

    func folder(_ kind: String) -> URL { Self.fixtures.appendingPathComponent(kind) }

    func expected(_ kind: String) throws -> (Expected, [String: MLXArray]) {
        let json = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder(kind).appendingPathComponent("expected.json")))
        let arrays = try loadSafeTensors(path: folder(kind).appendingPathComponent("expected.safetensors").path).arrays
        return (json, arrays)
    }

    func images(_ names: [String]) throws -> [RGBImage] {
        try names.map { try ImageCodec.decode(contentsOf: Self.fixtures.appendingPathComponent("trocr/\($0)")) }
    }

    func maxDiff(_ a: MLXArray, _ b: MLXArray) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return abs(a - b).max().item(Float.self)
    }

    // MARK: Preprocessing

    func testPixelValuesEqualTransformers() throws {
        for kind in Self.kinds {
            let recognizer = try VisionEncoderDecoderRecognizer(folder: folder(kind))
            let (json, arrays) = try expected(kind)
            let inputs = try images(json.images)
            XCTAssertEqual(Set(inputs.map(\.width)).count, 3, "the inputs have different sizes")
            let pixels = try recognizer.preprocessor.pixelValues(inputs)
            for i in inputs.indices {
                let diff = maxDiff(pixels.sliced(axis: 0, i ..< i + 1).squeezed(axis: 0), try XCTUnwrap(arrays["pixel_values.\(i)"]))
                XCTAssertLessThanOrEqual(diff, 1e-6, "\(kind) image \(i)")
            }
        }
        XCTAssertEqual(try VisionEncoderDecoderRecognizer(folder: folder("trocr-deit")).preprocessor.resampling, .bicubic)
    }

    func testPillowResizeBytesEqualPillow() throws {
        let url = Self.fixtures.appendingPathComponent("trocr/resize-cases.safetensors")
        let cases = try loadSafeTensors(path: url.path).arrays
        var count = 0
        while let size = cases["size.\(count)"]?.asArray(Int32.self).map(Int.init) {
            let source = RGBImage(width: size[0], height: size[1], pixels: cases["input.\(count)"]!.asArray(UInt8.self))
            let filter = try XCTUnwrap(PillowResampling(pilValue: size[4]))
            let resized = source.pillowResized(width: size[2], height: size[3], resampling: filter)
            XCTAssertEqual(resized.pixels, cases["output.\(count)"]!.asArray(UInt8.self), "case \(count): \(size)")
            count += 1
        }
        XCTAssertEqual(count, 10)
    }

    func testPillowResizeShrinksWithAntialiasing() {
        // A 1-pixel checkerboard shrunk 4× averages to mid gray with Pillow's support widening.
        var pixels = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for y in 0 ..< 16 { for x in 0 ..< 16 where (x + y) % 2 == 0 { for c in 0 ..< 3 { pixels[(y * 16 + x) * 3 + c] = 255 } } }
        let image = RGBImage(width: 16, height: 16, pixels: pixels)
        for filter in [PillowResampling.bilinear, .bicubic] {
            let small = image.pillowResized(width: 4, height: 4, resampling: filter)
            XCTAssertTrue(small.pixels.allSatisfy { abs(Int($0) - 128) <= 8 }, "\(filter): \(small.pixels)")
        }
        XCTAssertEqual(image.pillowResized(width: 16, height: 16, resampling: .bilinear), image)
    }

    // MARK: Model

    func testEncoderOutputAndLogitsMatchTransformers() throws {
        for kind in Self.kinds {
            let model = try VisionEncoderDecoder.load(from: folder(kind))
            let (json, arrays) = try expected(kind)
            let pixels = stacked((0 ..< json.images.count).map { arrays["pixel_values.\($0)"]! })
            XCTAssertLessThanOrEqual(maxDiff(model.encoder(pixels), arrays["encoder_output"]!), 1e-4, kind)
            let ids = MLXArray(Array(repeating: json.logit_tokens.map(Int32.init), count: json.images.count).flatMap { $0 },
                               [json.images.count, json.logit_tokens.count])
            let logits = model(pixels, decoderInputs: ids)
            XCTAssertLessThanOrEqual(maxDiff(logits, arrays["logits"]!), 1e-4, kind)

            // Step by step with the cache gives the same logits as the full forward pass.
            let session = model.session(encoderOutput: model.encode(pixels))
            for t in 0 ..< json.logit_tokens.count {
                let stepLogits = session.step(ids.sliced(axis: 1, t ..< t + 1))
                XCTAssertLessThanOrEqual(maxDiff(stepLogits, logits.sliced(axis: 1, t ..< t + 1).squeezed(axis: 1)), 1e-4, "\(kind) step \(t)")
            }
        }
    }

    func testCheckpointKeysAreHuggingFaceNames() throws {
        let model = try VisionEncoderDecoder.load(from: folder("trocr-vit"))
        let keys = Set(model.parameters().map(\.key))
        for key in ["encoder.encoder.layer.0.attention.attention.query.weight", "encoder.embeddings.patch_embeddings.projection.weight",
                    "encoder.pooler.dense.weight", "enc_to_dec_proj.weight", "decoder.model.decoder.embed_positions.weight",
                    "decoder.model.decoder.layers.1.encoder_attn.k_proj.weight"] {
            XCTAssertTrue(keys.contains(key), key)
        }
        XCTAssertFalse(keys.contains("decoder.output_projection.weight"), "tied to embed_tokens in this checkpoint")
        let deit = Set(try VisionEncoderDecoder.load(from: folder("trocr-deit")).parameters().map(\.key))
        XCTAssertTrue(deit.contains("encoder.embeddings.distillation_token"))
        XCTAssertTrue(deit.contains("decoder.output_projection.weight"))
        XCTAssertFalse(deit.contains("decoder.model.decoder.embed_positions.weight"), "sinusoidal positions")
    }

    // MARK: Generation

    func options(_ run: Expected.Run, eos: Int) -> GenerationOptions {
        let o = run.options
        return GenerationOptions(
            maxNewTokens: Int(o["max_new_tokens"]!.number!), minNewTokens: Int(o["min_new_tokens"]?.number ?? 0),
            numBeams: Int(o["num_beams"]?.number ?? 1), lengthPenalty: o["length_penalty"]?.number ?? 1,
            noRepeatNgramSize: Int(o["no_repeat_ngram_size"]?.number ?? 0),
            earlyStopping: earlyStopping(o["early_stopping"]),
            eosTokenIDs: [Int(o["eos_token_id"]?.number ?? Double(eos))], padTokenID: 1)
    }

    func earlyStopping(_ value: JSONValue?) -> GenerationOptions.EarlyStopping {
        switch value {
        case .flag(true): .stopWhenFull
        case .text("never"): .never
        default: .heuristic
        }
    }

    func testGreedyAndBeamSearchIDsEqualTransformers() throws {
        for kind in Self.kinds {
            let recognizer = try VisionEncoderDecoderRecognizer(folder: folder(kind))
            let (json, _) = try expected(kind)
            let inputs = try images(json.images)
            XCTAssertEqual(recognizer.decoderStartTokenID, 2)
            for (name, run) in json.generation.sorted(by: { $0.key < $1.key }) {
                let ids = try recognizer.generateTokenIDs(inputs, options: options(run, eos: 2))
                XCTAssertEqual(ids, run.token_ids, "\(kind) \(name)")
                XCTAssertEqual(ids.map(recognizer.decode), run.texts, "\(kind) \(name)")
            }
        }
    }

    func testNoRepeatNgramAndMinTokensProcessors() {
        let scores = zeros([2, 6])
        var o = GenerationOptions(minNewTokens: 2, noRepeatNgramSize: 2, eosTokenIDs: [5])
        // Row 0 ends with 3 and has seen "3 4": 4 is banned; EOS banned before 2 new tokens.
        let processed = processScores(scores, sequences: [[2, 3, 4, 3], [2, 1]], newTokens: 1, options: o)
            .asArray(Float.self)
        XCTAssertEqual(processed.enumerated().filter { $0.element == -.infinity }.map(\.offset), [4, 5, 11])
        o.minNewTokens = 0
        let later = processScores(scores, sequences: [[2, 1]], newTokens: 3, options: o).asArray(Float.self)
        XCTAssertFalse(later.contains(-.infinity), "a 2-gram needs 2 tokens of history")
    }

    func testGenerationConfigDefaults() throws {
        let json = #"{"num_beams": 4, "length_penalty": 2.0, "no_repeat_ngram_size": 3, "early_stopping": true, "eos_token_id": [2, 5], "max_length": 64}"#
        let d = try JSONDecoder().decode(GenerationDefaults.self, from: Data(json.utf8))
        XCTAssertEqual(d.numBeams, 4)
        XCTAssertEqual(d.lengthPenalty, 2)
        XCTAssertEqual(d.noRepeatNgramSize, 3)
        XCTAssertEqual(d.earlyStopping, .stopWhenFull)
        XCTAssertEqual(d.eosTokenIDs, [2, 5])
        let never = try JSONDecoder().decode(GenerationDefaults.self, from: Data(#"{"early_stopping": "never", "eos_token_id": 2}"#.utf8))
        XCTAssertEqual(never.earlyStopping, .never)
        XCTAssertEqual(never.eosTokenIDs, [2])
    }

    // MARK: Loading and registry

    func testRegistryLoadsTheFamilyAndRecognizes() throws {
        XCTAssertTrue(ModelFamilies.modelTypes.contains("vision-encoder-decoder"))
        let recognizer = try XCTUnwrap(try ModelFamilies.load(folder("trocr-vit")) as? VisionEncoderDecoderRecognizer)
        let (json, _) = try expected("trocr-vit")
        recognizer.options.maxNewTokens = 20
        XCTAssertEqual(try recognizer.recognize(try images(json.images), prompt: nil), json.generation["greedy"]!.texts)
    }

    func testPickleOnlyFolderIsRefusedWithConversionHint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trocr-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: folder("trocr-vit").appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        try Data([0x80, 0x02]).write(to: dir.appendingPathComponent("pytorch_model.bin"))
        XCTAssertThrowsError(try VisionEncoderDecoder.load(from: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("pytorch_model.bin") && text.contains("safe_serialization=True"), text)
        }
    }

    func testProcessorConfigWithNestedImageProcessorIsRead() throws {
        // transformers 5 saves a TrOCRProcessor as processor_config.json {"image_processor": {...}}.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trocr-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inner = try Data(contentsOf: folder("trocr-deit").appendingPathComponent("preprocessor_config.json"))
        try (Data(#"{"processor_class": "TrOCRProcessor", "image_processor": "#.utf8) + inner + Data("}".utf8))
            .write(to: dir.appendingPathComponent("processor_config.json"))
        let nested = try ViTImageProcessorConfig.load(from: dir)
        XCTAssertEqual(nested, try ViTImageProcessorConfig.load(from: folder("trocr-deit")))
        XCTAssertEqual(nested.resample, 3)
        XCTAssertEqual(nested.size, ["height": 24, "width": 48])
    }

    func testUnsupportedEncoderIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trocr-beit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = #"{"model_type": "vision-encoder-decoder", "encoder": {"model_type": "swin"}, "decoder": {"model_type": "trocr"}}"#
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try VisionEncoderDecoder.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("encoder.model_type \"swin\""), "\(error)")
        }
    }

    /// A decoder with learned positions (64 here) stops at its last one: generating past it looked
    /// up rows outside the position table (undefined memory: different tokens on every call).
    func testGenerationStopsAtTheLastLearnedPositionAndIsDeterministic() throws {
        let recognizer = try VisionEncoderDecoderRecognizer(folder: Self.fixtures.appendingPathComponent("trocr-vit"))
        XCTAssertEqual(recognizer.maxNewTokensLimit, 63)
        recognizer.options.maxNewTokens = 256
        recognizer.options.eosTokenIDs = [-1]  // never stop early
        let image = try ImageCodec.decode(contentsOf: Self.fixtures.appendingPathComponent("trocr/line-wide.png"))
        let runs = try (0 ..< 3).map { _ in try recognizer.recognizeDetailed([image])[0].tokenIDs }
        XCTAssertEqual(runs[0].count, 63)
        XCTAssertEqual(runs[1], runs[0])
        XCTAssertEqual(runs[2], runs[0])
    }
}
