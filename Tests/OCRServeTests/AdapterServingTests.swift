// LoRA adapters on one loaded base: a PEFT adapter written by OCRTraining is served as its own
// model, its answers equal the base with that adapter applied as the trainer applies it
// (LoRALinear, unmerged), the base keeps answering as itself, and an adapter that does not fit
// the base is refused with the layer at fault.

import Foundation
import Hummingbird
import HummingbirdTesting
import MLXEngine
import MLXNN
import OCRImaging
import OCRModels
import OCRFineTune
import OCRTraining
import XCTest

@testable import OCRServe

final class AdapterServingTests: XCTestCase {
    /// Writes a PEFT adapter of the tiny PP-OCR model (random, non-zero B) and returns its folder
    /// and the recognizer carrying it.
    func makeAdapter(seed: UInt64) throws -> (folder: String, recognizer: PPOCRTextRecognizer) {
        let recognizer = try PPOCRTextRecognizer(folder: ServeFixtures.ppocrFolder)
        let trainable = PPOCRTrainable(recognizer: recognizer)
        let configuration = LoRAConfiguration(r: 4, alpha: 8, targetModules: trainable.defaultLoRATargets)
        try trainable.module.applyLoRA(configuration, seed: seed)
        var i: UInt64 = 0
        for (_, m) in trainable.module.namedModules() {
            guard let lora = m as? LoRALinear else { continue }
            i += 1
            lora.loraB.weight.update(MLXRandom.normal(lora.loraB.weight.shape, std: 0.5, key: MLXRandom.key(seed &+ i)))
        }
        trainable.module.train(false)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocrserve-adapter-\(getpid())-\(seed)").path
        try? FileManager.default.removeItem(atPath: folder)
        try PEFTAdapter.save(module: trainable.module, configuration: configuration, baseModel: "tiny", to: folder)
        return (folder, recognizer)
    }

    func testAdaptersAreServedOnOneBase() async throws {
        let images = (0 ..< 3).map { ServeFixtures.line(width: 150 + 40 * $0, seed: 30 + $0) }
        let (folderA, withA) = try makeAdapter(seed: 1)
        let (folderB, withB) = try makeAdapter(seed: 2)
        let base = try PPOCRTextRecognizer(folder: ServeFixtures.ppocrFolder)
        func texts(_ r: PPOCRTextRecognizer) throws -> [String] {
            try images.map { try r.recognize([$0], options: RecognitionOptions(batchSize: 1))[0].text }
        }
        let (wantBase, wantA, wantB) = (try texts(base), try texts(withA), try texts(withB))
        XCTAssertNotEqual(wantA, wantBase, "the adapter changes the answers")

        let model = try ServedModels.load(folder: ServeFixtures.ppocrFolder)
        let adapters = try ServedAdapters(module: try XCTUnwrap(model.adaptableModule),
                                          adapters: [("persian", folderA), ("other", folderB)], baseName: "tiny")
        XCTAssertEqual(adapters.names, ["persian", "other"])
        let (app, _) = ServeFixtures.application(model, adapters: adapters)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let data = try XCTUnwrap(try ServeFixtures.object(response)["data"] as? [[String: Any]])
                XCTAssertEqual(data.map { $0["id"] as? String }, ["tiny", "persian", "other"])
                XCTAssertEqual(data.map { $0["parent"] as? String }, [nil, "tiny", "tiny"])
            }
            // Interleaved requests for the base and both adapters.
            for (i, image) in images.enumerated() {
                for (name, want) in [("persian", wantA), ("tiny", wantBase), ("other", wantB)] {
                    try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                             body: ServeFixtures.chat(model: name, image: image)) { response in
                        XCTAssertEqual(ServeFixtures.content(try ServeFixtures.object(response)), want[i], "\(name), image \(i)")
                    }
                }
                let ocr = ServeFixtures.json(["file": ServeFixtures.png(image).base64EncodedString(), "model": "persian"])
                try await client.execute(uri: "/ocr", method: .post, headers: ServeFixtures.jsonHeaders, body: ocr) { response in
                    let result = try XCTUnwrap(try ServeFixtures.object(response)["result"] as? [String: Any])
                    let pruned = (result["ocrResults"] as? [[String: Any]])?.first?["prunedResult"] as? [String: Any]
                    XCTAssertEqual(pruned?["rec_texts"] as? [String], wantA[i].isEmpty ? [] : [wantA[i]])
                }
            }
        }
    }

    func testAdaptersThatDoNotFitAreRefused() throws {
        let (folder, _) = try makeAdapter(seed: 3)
        let qwen = try ServedModels.load(folder: ServeFixtures.qwenFolder)
        XCTAssertThrowsError(try ServedAdapters(module: try XCTUnwrap(qwen.adaptableModule), adapters: [("a", folder)], baseName: "q")) { error in
            XCTAssertTrue("\(error)".contains("has no Linear layer"), "\(error)")
        }
        let ppocr = try ServedModels.load(folder: ServeFixtures.ppocrFolder)
        XCTAssertThrowsError(try ServedAdapters(module: try XCTUnwrap(ppocr.adaptableModule), adapters: [("tiny", folder)], baseName: "tiny"))
        XCTAssertThrowsError(try ServedAdapters(module: try XCTUnwrap(ppocr.adaptableModule), adapters: [("a", "/nonexistent")], baseName: "tiny")) { error in
            XCTAssertTrue("\(error)".hasPrefix("adapter a: /nonexistent"), "\(error)")
        }
        // A head adapter of another width (a run that extended the vocabulary).
        let weights = try loadSafeTensors(path: folder + "/" + PEFTAdapter.weightsFile).arrays
        var changed: [String: MLXArray] = [:]
        for (k, v) in weights {
            changed[k] = k.contains("head.head.lora_B") ? MLXRandom.normal([v.dim(0) + 3, v.dim(1)]) : v
        }
        try saveSafeTensors(changed, to: folder + "/" + PEFTAdapter.weightsFile)
        XCTAssertThrowsError(try ServedAdapters(module: try XCTUnwrap(ppocr.adaptableModule), adapters: [("a", folder)], baseName: "tiny")) { error in
            XCTAssertTrue("\(error)".contains("head.head"), "\(error)")
        }
    }
}
