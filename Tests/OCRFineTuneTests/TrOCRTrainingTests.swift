// Fine-tuning the tiny TrOCR fixture: batch layout (labels, shifted decoder inputs, ignored
// padding), the loss against transformers' definition, and LoRA training through the Trainer.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRFineTune
import OCRModels
import OCRTestSupport
import OCRTraining
import XCTest

final class TrOCRTrainingTests: XCTestCase {
    func recognizer() throws -> VisionEncoderDecoderRecognizer {
        try VisionEncoderDecoderRecognizer(folder: ModelFixtures.root.appendingPathComponent("trocr-vit"))
    }

    func samples() throws -> [(image: RGBImage, text: String)] {
        let names = ["line-wide.png", "line-small.png", "line-tall.png"]
        let texts = ["x^2 + y^2", "E", "ab"]
        return try zip(names, texts).map {
            (try ImageCodec.decode(contentsOf: ModelFixtures.root.appendingPathComponent("trocr/\($0.0)")), $0.1)
        }
    }

    func testBatchShiftsLabelsBehindTheStartTokenAndIgnoresPadding() throws {
        let trainable = VisionEncoderDecoderTrainable(recognizer: try recognizer())
        let tokenizer = trainable.recognizer.tokenizer
        let batch = try trainable.collate(try samples())
        let text = tokenizer.encode("x^2 + y^2", addSpecialTokens: false)
        let labels = batch.labels.asArray(Int32.self).map(Int.init)
        let inputs = batch.decoderInputs.asArray(Int32.self).map(Int.init)
        let width = batch.labels.dim(1)
        XCTAssertEqual(width, text.count + 1, "the longest text and its EOS")
        XCTAssertEqual(Array(labels[0 ..< width]), text + [2])
        XCTAssertEqual(Array(inputs[0 ..< width]), [2] + text, "shifted right behind decoder_start_token_id")
        let second = tokenizer.encode("E", addSpecialTokens: false)
        XCTAssertEqual(Array(labels[width ..< 2 * width]), second + [2] + Array(repeating: -100, count: width - second.count - 1))
        XCTAssertEqual(Array(inputs[width ..< 2 * width]), [2] + second + Array(repeating: 1, count: width - second.count - 1))
        XCTAssertEqual(batch.targetTokens, labels.filter { $0 != -100 }.count)

        // The loss is the mean token cross-entropy over the non-ignored labels.
        let logits = trainable.model(batch.pixels, decoderInputs: batch.decoderInputs)
        let logProbs = logSoftmax(logits, axis: -1).asArray(Float.self)
        let vocabulary = logits.dim(2)
        var total: Double = 0
        for (i, label) in labels.enumerated() where label != -100 { total -= Double(logProbs[i * vocabulary + label]) }
        XCTAssertEqual(Double(trainable.loss(batch).item(Float.self)), total / Double(batch.targetTokens), accuracy: 1e-4)
    }

    func testLoRATrainingLowersTheLoss() throws {
        let trainable = VisionEncoderDecoderTrainable(recognizer: try recognizer())
        let items = try samples()
        let source = MemoryBatchSource(items: items, seed: 1) { try trainable.collate($0) }
        var c = TrainingConfiguration()
        c.method = .lora
        c.lora = LoRAConfiguration(r: 4, alpha: 8, dropout: 0, targetModules: [])
        c.learningRate = 2e-2
        c.batchSize = 3
        c.maxSteps = 25
        c.warmupSteps = 2
        c.saveEvery = 0
        c.evalEvery = 0
        c.logEvery = 1
        c.seed = 3
        let run = NSTemporaryDirectory() + "ocrtune-trocr-\(UUID().uuidString)/run"
        defer { try? FileManager.default.removeItem(atPath: (run as NSString).deletingLastPathComponent) }
        let batch = try trainable.collate(items)
        let before = trainable.loss(batch).item(Float.self)  // evaluation mode: no dropout
        let trainer = try Trainer(model: trainable, data: source, configuration: c, runDirectory: run)
        var losses: [Float] = []
        _ = try trainer.run { p in
            if p.event == .step { losses.append(p.loss) }
            return .proceed
        }
        let wrapped = trainable.module.namedModules().filter { $0.module is LoRALinear }.map(\.path)
        XCTAssertEqual(wrapped.count, 2 * 2 * 4, "q/k/v/out of self- and cross-attention in 2 layers")
        XCTAssertTrue(wrapped.allSatisfy { $0.hasPrefix("decoder.model.decoder.layers.") })
        XCTAssertEqual(losses.count, 25)
        trainable.module.train(false)
        let after = trainable.loss(batch).item(Float.self)
        XCTAssertLessThan(after, before * 0.7, "training losses \(losses)")
    }
}
