// Fine-tuning vision encoder–decoders (TrOCR and alike): teacher-forced lines; the trained model
// is the base folder's config, processor and tokenizer files with the merged weights, loadable by
// transformers' `from_pretrained` and by ocrtune.

import Foundation
import OCRData
import OCRImaging
import OCRModels
import OCRTraining

extension VisionEncoderDecoderFamily: FineTunableFamily {
    public typealias Recipe = VisionEncoderDecoderRecipe
}

/// An encoded sample: the image bytes and the text.
public struct EncodedSample: Sendable {
    public var bytes: Data
    public var text: String
}

public final class VisionEncoderDecoderRecipe: FineTuneRecipe {
    public let trainable: VisionEncoderDecoderTrainable
    private let baseFolder: URL

    /// Files of the base folder that travel with the trained weights.
    static let companionFiles = [
        "config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "sentencepiece.bpe.model",
    ]

    public init(base: URL, configuration: TrainingConfiguration) throws {
        baseFolder = base
        let recognizer = try VisionEncoderDecoderRecognizer(folder: base, batchSize: configuration.batchSize)
        trainable = VisionEncoderDecoderTrainable(recognizer: recognizer)
    }

    public var name: String { trainable.recognizer.name }
    public var unit: String { "lines" }

    public func item(_ sample: DatasetSample, replay: Bool) throws -> EncodedSample {
        EncodedSample(bytes: sample.imageBytes, text: sample.text)
    }

    public func reference(_ item: EncodedSample) -> String { item.text }

    public func prepare(train: inout [EncodedSample], mix: inout [EncodedSample]?, options: FineTuneOptions, seed: UInt64) throws -> [String] {
        var notes: [String] = []
        if !options.addCharacters.isEmpty {
            notes.append("note: --add-chars is for CTC models; this tokenizer encodes any text (byte-level or with <unk>)")
        }
        let recognizer = trainable.recognizer
        let unknown = train.filter { trainable.labels(of: $0.text).contains(recognizer.tokenizer.specialTokenIDs.unk ?? -1) }.count
        if unknown > 0 {
            notes.append("warning: \(unknown) training texts contain characters the tokenizer maps to its unknown token")
        }
        let longest = train.map { trainable.labels(of: $0.text).count }.max() ?? 0
        if longest >= trainable.maxTargetTokens {
            notes.append("warning: labels are truncated to \(trainable.maxTargetTokens) tokens (EOS included)")
        }
        return notes
    }

    public func collate(_ items: [EncodedSample]) throws -> Seq2SeqBatch {
        try trainable.collate(try items.map { (try ImageCodec.decode($0.bytes), $0.text) })
    }

    /// The model's own decoding, generating at most a few tokens more than the longest reference.
    public func predict(_ items: [EncodedSample]) throws -> [String] {
        let recognizer = trainable.recognizer
        var options = recognizer.options
        let longest = items.map { trainable.labels(of: $0.text).count }.max() ?? 0
        options.maxNewTokens = Swift.min(options.maxNewTokens, longest + 8)
        options.minNewTokens = Swift.min(options.minNewTokens, options.maxNewTokens)
        let ids = try recognizer.generateTokenIDs(items.map { try ImageCodec.decode($0.bytes) }, options: options)
        return ids.map(recognizer.decode)
    }

    public func writeModel(to folder: URL) throws {
        try TrainedModelFolder.write(trainable.module, to: folder, base: baseFolder, companions: Self.companionFiles)
    }
}
