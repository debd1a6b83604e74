// Fine-tuning latex-ocr-junia (image → LaTeX): character vocabulary checked (unknown characters
// train as <unk>), over-long formulas truncated, validation by CER and exact match; the trained
// model is written in the package's own layout.

import Foundation
import OCRData
import OCRImaging
import OCRModels
import OCRSupport
import OCRTraining

extension LatexJuniaFamily: FineTunableFamily {
    public typealias Recipe = LatexJuniaRecipe
}

public final class LatexJuniaRecipe: FineTuneRecipe {
    public let trainable: LatexJuniaTrainable

    public init(base: URL, configuration: TrainingConfiguration) throws {
        trainable = LatexJuniaTrainable(recognizer: try LatexJuniaTextRecognizer(folder: base))
    }

    public var name: String { "latex-ocr-junia" }
    public var unit: String { "formulas" }
    public var validationReportsExactMatch: Bool { true }

    public func item(_ sample: DatasetSample, replay: Bool) throws -> EncodedSample {
        EncodedSample(bytes: sample.imageBytes, text: sample.text)
    }

    public func reference(_ item: EncodedSample) -> String { item.text }

    public func prepare(train: inout [EncodedSample], mix: inout [EncodedSample]?, options: FineTuneOptions, seed: UInt64) throws -> [String] {
        if !options.addCharacters.isEmpty {
            throw FineTuneError("--add-chars: latex-ocr-junia's character vocabulary cannot be extended in this build")
        }
        var notes: [String] = []
        // Characters outside the vocabulary train as <unk>: say which.
        let tokenizer = trainable.recognizer.tokenizer
        var unknown: [String] = []
        var seen = Set<Unicode.Scalar>()
        for text in train.map(\.text) + (mix?.map(\.text) ?? []) {
            for s in text.unicodeScalars where !tokenizer.covers(String(s)) && seen.insert(s).inserted { unknown.append(String(s)) }
        }
        if !unknown.isEmpty {
            notes.append("warning: \(unknown.count) characters of the training texts are not in the model's vocabulary and train as <unk>: \(unknown.joined(separator: " "))")
        }
        let maxLength = trainable.model.config.maxLength
        let long = train.filter { $0.text.unicodeScalars.count + 2 > maxLength }.count
        if long > 0 { notes.append("\(long) training texts are longer than max_length \(maxLength) and are truncated (EOS kept)") }
        return notes
    }

    public func collate(_ items: [EncodedSample]) throws -> LatexJuniaBatch {
        trainable.collate(try items.map { (try ImageCodec.decode($0.bytes), $0.text) })
    }

    /// Greedy during training (fast); the saved model keeps its own decoding settings.
    public func predict(_ items: [EncodedSample]) throws -> [String] {
        let recognizer = trainable.recognizer
        let ids = try recognizer.generate(items.map { try ImageCodec.decode($0.bytes) }, options: LatexJuniaDecodingOptions(numBeams: 1))
        return ids.map(recognizer.tokenizer.decode)
    }

    /// The complete model folder (adapters merged; weights under the package's names and layout).
    public func writeModel(to folder: URL) throws {
        try trainable.model.mergeForExport()
        try AtomicDirectory.write(to: folder.path) { temporary in
            try trainable.recognizer.write(to: URL(fileURLWithPath: temporary))
        }
    }
}
