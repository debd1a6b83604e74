// Model families and the one registry through which everything reaches them.
//
// A family describes itself once: the `model_type`s it loads, how it reads images (and which
// reading options it takes), what characters a model folder can emit, and, for vision–language
// families, how many visual tokens an image costs. `ModelFamilies.all` lists them; the CLI, the
// evaluator and the server find a family by a folder's `model_type` and never name one. Fine-tuning
// attaches to the same descriptor by conformance (OCRFineTune's `FineTunableFamily`).
// As mlx-swift-lm's VLMTypeRegistry: one place a `model_type` is looked up.

import Foundation
import MLXEngine
import OCRImaging
import OCRText

// MARK: - Reading

/// How images are to be read: every option any family takes. Unset options keep the model's
/// defaults (its generation_config.json, its preferred batch size); a family refuses options it
/// does not take (see ``ModelFamily/readingOptions``), naming them.
public struct ReadingOptions: Sendable {
    /// Images per forward pass (generative families: images generated together).
    public var batchSize: Int?
    /// Trace the forward pass with the engine's compile.
    public var compile = false
    // CTC decoding
    /// Beam search with this many beams (CTC recognizers).
    public var beamWidth: Int?
    /// Only these labels may be output (CTC recognizers).
    public var allowedCharacters: Set<String>?
    // Generation
    public var maxNewTokens: Int?
    public var minNewTokens: Int?
    public var numBeams: Int?
    public var lengthPenalty: Double?
    public var noRepeatNgramSize: Int?
    /// Wide images read in overlapping windows of the model's aspect (encoder–decoders).
    public var chunking: ChunkingOptions?
    /// The prompt or task (vision–language models).
    public var task: OCRTask?
    /// Sampling instead of greedy / beam decoding (vision–language models).
    public var sampling: SamplingOptions?
    /// A family's resolution mode (DeepSeek-OCR v1: tiny, small, base, large, gundam).
    public var mode: String?

    public init() {}

    /// The options that are set, for checking them against a family's.
    public var given: Set<ReadingOption> {
        var set = Set<ReadingOption>()
        if compile { set.insert(.compile) }
        if beamWidth != nil { set.insert(.beamWidth) }
        if allowedCharacters != nil { set.insert(.allowedCharacters) }
        if maxNewTokens != nil || minNewTokens != nil { set.insert(.tokenLimits) }
        if numBeams != nil || lengthPenalty != nil { set.insert(.numBeams) }
        if noRepeatNgramSize != nil { set.insert(.noRepeatNgram) }
        if chunking != nil { set.insert(.chunking) }
        if task != nil { set.insert(.task) }
        if sampling != nil { set.insert(.sampling) }
        if mode != nil { set.insert(.mode) }
        return set
    }
}

extension GenerationOptions {
    /// These settings with the reading options' generation settings (those that are set).
    public func applying(_ o: ReadingOptions) -> GenerationOptions {
        var g = self
        if let maxNewTokens = o.maxNewTokens { g.maxNewTokens = maxNewTokens }
        if let minNewTokens = o.minNewTokens { g.minNewTokens = minNewTokens }
        if let numBeams = o.numBeams { g.numBeams = numBeams }
        if let lengthPenalty = o.lengthPenalty { g.lengthPenalty = lengthPenalty }
        if let size = o.noRepeatNgramSize { g.noRepeatNgramSize = size }
        if let sampling = o.sampling {
            g.doSample = true
            g.temperature = sampling.temperature
            g.topK = sampling.topK
            g.topP = sampling.topP
            g.seed = sampling.seed
        }
        return g
    }
}

/// Sampling settings: temperature → top-k → top-p, seeded.
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    public var seed: UInt64

    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }
}

/// A reading option, named as the command line names it (for errors).
public enum ReadingOption: String, CaseIterable, Sendable, Comparable {
    case compile = "--compile"
    case beamWidth = "--beam-width"
    case allowedCharacters = "--whitelist"
    case tokenLimits = "--max-new-tokens/--min-new-tokens"
    case numBeams = "--num-beams/--length-penalty"
    case noRepeatNgram = "--no-repeat-ngram-size"
    case chunking = "--chunk"
    case task = "--prompt/--task"
    case sampling = "--sample"
    case mode = "--mode"

    public static func < (a: ReadingOption, b: ReadingOption) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What a model read in one image.
public struct Reading: Sendable, Equatable {
    public var text: String
    /// CTC: PaddleOCR's mean probability of the emitted steps (greedy) or the sequence probability
    /// (beam search); nil where the family gives none.
    public var confidence: Double?
    /// The emitted ids: CTC class ids, or the generated tokens (stop token included when generated).
    public var tokenIDs: [Int]

    public init(text: String, confidence: Double? = nil, tokenIDs: [Int] = []) {
        self.text = text
        self.confidence = confidence
        self.tokenIDs = tokenIDs
    }
}

/// A loaded model that reads images with the options it was made with.
public protocol ModelReader: TextRecognizer {
    /// What each image reads as, in the order given.
    func read(_ images: [RGBImage]) throws -> [Reading]
}

/// A reader whose output is a distribution over classes per step (CTC recognizers).
public protocol ClassProbabilityReader: ModelReader {
    /// One image run alone: the network input [H, W, 3] and the class probabilities [T, classes].
    func inputAndProbabilities(_ image: RGBImage) throws -> (input: MLXArray, probabilities: MLXArray)
}

// MARK: - Families

/// The visual tokens an image costs a vision–language model, from its size alone.
public struct VisualTokenCounter: Sendable {
    /// What bounds the count ("max_pixels 1003520").
    public let bounds: String
    /// Images above this many tokens are resized down when read (nil: no cap).
    public let cap: Int?
    public let tokens: @Sendable (_ width: Int, _ height: Int) throws -> Int

    public init(bounds: String, cap: Int?, tokens: @escaping @Sendable (Int, Int) throws -> Int) {
        self.bounds = bounds
        self.cap = cap
        self.tokens = tokens
    }
}

/// A model family: everything the rest of ocrtune needs to know about it, in one place.
public protocol ModelFamily {
    /// A short name for messages ("PP-OCR recognizers").
    static var name: String { get }
    /// The config.json `model_type`s it loads.
    static var modelTypes: [String] { get }
    /// The reading options it takes.
    static var readingOptions: Set<ReadingOption> { get }
    /// Loads a model folder for reading with `options` (already checked against ``readingOptions``).
    static func reader(at folder: URL, options: ReadingOptions) throws -> any ModelReader
    /// Whether a model of this folder can emit a character (`data stats --against`).
    static func characterCoverage(at folder: URL) throws -> @Sendable (Character) -> Bool
    /// Visual tokens per image (vision–language families; nil for others).
    static func visualTokens(at folder: URL) throws -> VisualTokenCounter?
}

extension ModelFamily {
    public static func visualTokens(at folder: URL) throws -> VisualTokenCounter? { nil }
}

/// The registry: every family, and the lookups by `model_type`.
public enum ModelFamilies {
    /// Every family of this build. Adding a family: its folder(s) and one line here.
    public static let all: [any ModelFamily.Type] = [
        PPOCRFamily.self,
        VisionEncoderDecoderFamily.self,
        LatexJuniaFamily.self,
        QwenVLFamily.self,
        DeepSeekOCRFamily.self,
    ]

    /// Every `model_type` some family loads.
    public static var modelTypes: [String] { all.flatMap { family in family.modelTypes }.sorted() }

    /// The family that loads `modelType`.
    public static func family(forModelType modelType: String) -> (any ModelFamily.Type)? {
        all.first { $0.modelTypes.contains(modelType) }
    }

    /// The family of a model folder, from its config.json.
    public static func family(ofModelAt folder: URL) throws -> any ModelFamily.Type {
        let type = try ModelFolder.modelType(at: folder)
        guard let family = family(forModelType: type) else {
            throw ModelFolderError(
                "\(folder.path): model_type \"\(type)\" is not supported (known: \(modelTypes.joined(separator: ", ")))")
        }
        return family
    }

    /// A reader for a model folder; options the family does not take are an error naming them.
    public static func reader(at folder: URL, options: ReadingOptions = ReadingOptions()) throws -> any ModelReader {
        let family = try family(ofModelAt: folder)
        let refused = options.given.subtracting(family.readingOptions).sorted()
        if !refused.isEmpty {
            let takes = family.readingOptions.sorted().map(\.rawValue)
            throw ModelFolderError(
                "\(refused.map(\.rawValue).joined(separator: ", ")): not for \(family.name) (\(folder.path)); "
                    + (takes.isEmpty ? "it takes no reading options" : "it takes \(takes.joined(separator: ", "))"))
        }
        return try family.reader(at: folder, options: options)
    }

    /// The recognizer of a model folder with its default options.
    public static func load(_ folder: URL) throws -> any TextRecognizer {
        try reader(at: folder)
    }
}
