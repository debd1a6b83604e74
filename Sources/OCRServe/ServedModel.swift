// The one place the server loads a model folder and talks to a family: line recognizers (PP-OCR
// through its CTC results with scores; TrOCR, latex-ocr-junia and any other registered family
// through OCRImaging's TextRecognizer) read images; generative families (Qwen-VL) render chat
// turns with the folder's template and generate through the shared TokenStepper
// (OCRModels/Common/Generation.swift), token by token. Everything here runs on the model
// worker's thread; folders are found through the family registry (ModelFamilies).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRModels
import OCRText

// MARK: - Protocol

/// How a served model answers.
public enum ServedModelKind: String, Sendable {
    /// Reads the text of each image (the assistant message is the image's text).
    case lineRecognizer = "line-recognizer"
    /// Answers a prompt about images, token by token.
    case generative
}

/// One image's text with its confidence (nil where the family gives none).
public struct LineReading: Equatable, Sendable {
    public var text: String
    public var score: Double?
    /// Output units: CTC classes emitted, or generated tokens.
    public var tokens: Int
}

/// A chat turn as the server hands it to a generative model.
public struct ServedTurn {
    public enum Part {
        case text(String)
        case image(RGBImage)
    }

    public var role: String
    public var parts: [Part]

    public init(role: String, parts: [Part]) {
        self.role = role
        self.parts = parts
    }
}

/// A tokenized prompt with its image inputs, ready to be batched.
public struct PreparedPrompt {
    public var ids: [Int]
    public var pixels: MLXArray?
    public var grids: [[Int]]
}

/// What the server needs of a loaded model.
public protocol ServedModel: AnyObject {
    /// The family's name for logs and /v1/models ("PP-OCRv5 mobile rec").
    var familyName: String { get }
    var kind: ServedModelKind { get }
    /// The module LoRA adapters are keyed against (the family's `TrainableModel.module`), nil when
    /// the family takes none.
    var adaptableModule: Module? { get }
    /// Requests whose keys are close are batched together: the input width a line gets alone
    /// (PP-OCR), visual tokens (Qwen-VL), the image width otherwise.
    func batchKey(width: Int, height: Int) -> Int
    /// Work on a request's decoded image that the model would otherwise do on the worker thread
    /// (resizing to its input size), done on the request's own thread as it arrives; what it returns
    /// is what `prepare` or `readLines` get. Called concurrently.
    func preprocess(_ image: RGBImage) throws -> RGBImage

    // Line recognizers
    /// The text of each image, in order (one batch).
    func readLines(_ images: [RGBImage]) throws -> [LineReading]

    // Generative families
    /// Generation defaults of the folder (stop tokens, padding, repetition guard).
    var defaultGeneration: GenerationOptions { get }
    /// Token ids and image inputs of a conversation, the assistant turn opened.
    func prepare(_ turns: [ServedTurn]) throws -> PreparedPrompt
    /// A stepper generating for every prompt of one batch (left-padded as the family batches).
    func startGeneration(_ prompts: [PreparedPrompt], options: GenerationOptions) throws -> TokenStepper
    /// The text of generated ids (special tokens skipped).
    func decode(_ ids: [Int]) -> String
}

public struct ServedModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ServedModel {
    public var defaultGeneration: GenerationOptions { GenerationOptions() }
    public func preprocess(_ image: RGBImage) throws -> RGBImage { image }
    public func prepare(_ turns: [ServedTurn]) throws -> PreparedPrompt {
        throw ServedModelError("\(familyName) does not answer prompts")
    }
    public func startGeneration(_ prompts: [PreparedPrompt], options: GenerationOptions) throws -> TokenStepper {
        throw ServedModelError("\(familyName) does not answer prompts")
    }
    public func decode(_ ids: [Int]) -> String { "" }
    public func readLines(_ images: [RGBImage]) throws -> [LineReading] {
        throw ServedModelError("\(familyName) does not read lines")
    }
}

// MARK: - Loading

public enum ServedModels {
    /// Loads a model folder through its family (the registry, by `model_type`).
    public static func load(folder: URL) throws -> ServedModel {
        let family = try ModelFamilies.family(ofModelAt: folder)
        if family == PPOCRFamily.self { return ServedPPOCR(try PPOCRTextRecognizer(folder: folder)) }
        if family == QwenVLFamily.self { return ServedQwenVL(try QwenVLTextRecognizer(folder: folder)) }
        return ServedLineRecognizer(try ModelFamilies.load(folder))
    }
}

// MARK: - PP-OCR

/// PP-OCR: greedy CTC with PaddleOCR's score (mean probability of the emitted steps).
final class ServedPPOCR: ServedModel {
    let recognizer: PPOCRTextRecognizer
    init(_ recognizer: PPOCRTextRecognizer) { self.recognizer = recognizer }

    var familyName: String { recognizer.name }
    var kind: ServedModelKind { .lineRecognizer }
    var adaptableModule: Module? { recognizer.network }

    /// The width PaddleOCR gives the line in a batch of its own: lines of equal keys batch
    /// without padding, so their texts equal `predict`'s.
    func batchKey(width: Int, height: Int) -> Int {
        let p = recognizer.preprocessor
        let ratio = max(Double(p.minWidth) / Double(p.height), Double(width) / Double(max(1, height)))
        return Int(Double(p.height) * ratio)
    }

    func readLines(_ images: [RGBImage]) throws -> [LineReading] {
        var options = recognizer.options
        options.batchSize = max(1, images.count)
        return try recognizer.recognize(images, options: options).map {
            LineReading(text: $0.text, score: Double($0.confidence), tokens: $0.classes.count)
        }
    }
}

// MARK: - Other line recognizers

/// TrOCR, latex-ocr-junia and any other registered recognizer, through ``TextRecognizer``.
final class ServedLineRecognizer: ServedModel {
    let recognizer: TextRecognizer

    /// An encoder–decoder with learned positions generates at most as many tokens as it has
    /// positions: TrOCRDecoder reads past its position table otherwise (the engine's gather does
    /// not check bounds), giving undefined answers.
    init(_ recognizer: TextRecognizer) {
        self.recognizer = recognizer
        if let r = recognizer as? VisionEncoderDecoderRecognizer {
            r.options.maxNewTokens = min(r.options.maxNewTokens, Self.positionLimit(r))
        }
    }

    static func positionLimit(_ r: VisionEncoderDecoderRecognizer) -> Int {
        let d = r.model.config.decoder
        return d.useLearnedPositionEmbeddings ? d.maxPositionEmbeddings - 1 : Int.max
    }

    var familyName: String { recognizer.name }
    var kind: ServedModelKind { .lineRecognizer }
    var adaptableModule: Module? {
        switch recognizer {
        case let r as VisionEncoderDecoderRecognizer: return r.model
        case let r as LatexJuniaTextRecognizer: return r.model
        default: return nil
        }
    }

    func batchKey(width: Int, height: Int) -> Int { width }

    func readLines(_ images: [RGBImage]) throws -> [LineReading] {
        if let r = recognizer as? VisionEncoderDecoderRecognizer {
            r.batchSize = max(1, images.count)
            return try r.recognizeDetailed(images).map { LineReading(text: $0.text, score: nil, tokens: $0.tokenIDs.count) }
        }
        if let r = recognizer as? LatexJuniaTextRecognizer { r.batchSize = max(1, images.count) }
        return try recognizer.recognize(images, prompt: nil).map { LineReading(text: $0, score: nil, tokens: $0.count) }
    }
}

// MARK: - Qwen-VL

/// Qwen2.5-VL / Qwen3-VL: conversations rendered with the folder's chat template (the hard-coded
/// Qwen structure without one), images through the processor, generation stepped token by token.
final class ServedQwenVL: ServedModel {
    let recognizer: QwenVLTextRecognizer
    init(_ recognizer: QwenVLTextRecognizer) { self.recognizer = recognizer }

    var familyName: String { recognizer.name }
    var kind: ServedModelKind { .generative }
    var adaptableModule: Module? { recognizer.model }
    var defaultGeneration: GenerationOptions { recognizer.generation }

    func batchKey(width: Int, height: Int) -> Int {
        (try? recognizer.processor.visualTokens(width: width, height: height)) ?? width
    }

    /// The processor's resize (the same again in `prepare` is then a no-op): 12% of the worker's
    /// time with a tiny model, now beside it.
    func preprocess(_ image: RGBImage) throws -> RGBImage {
        try recognizer.processor.resizedForModel(image)
    }

    /// The special tokens a user could type to forge structure (`<|image_pad|>`, `<|im_start|>`...).
    private lazy var specialTokens: [String] = recognizer.tokenizer.addedTokens.filter(\.special).map(\.content)
        .filter { !$0.isEmpty }.sorted { $0.count > $1.count }

    func prepare(_ turns: [ServedTurn]) throws -> PreparedPrompt {
        var messages: [ChatMessage] = []
        var images: [RGBImage] = []
        for turn in turns {
            var parts: [ChatMessage.Part] = []
            for part in turn.parts {
                switch part {
                case let .text(t): parts.append(.text(SpecialTokenText.neutralized(t, specialTokens: specialTokens)))
                case let .image(image):
                    parts.append(.image)
                    images.append(image)
                }
            }
            messages.append(ChatMessage(role: turn.role, parts: parts))
        }
        let text = try render(messages)
        guard !images.isEmpty else { return PreparedPrompt(ids: recognizer.tokenizer.encode(text, addSpecialTokens: false), pixels: nil, grids: []) }
        let (pixels, grids) = try recognizer.processor(images)
        let expanded = try QwenVLPrompt.expandPlaceholders(text, counts: grids.map(recognizer.processor.placeholderCount))
        return PreparedPrompt(ids: recognizer.tokenizer.encode(expanded, addSpecialTokens: false), pixels: pixels, grids: grids)
    }

    /// The conversation as transformers' `apply_chat_template(add_generation_prompt=True)`
    /// renders it; without a template, Qwen's structure (Qwen2.5-VL's default system turn first),
    /// which for one user turn equals ``QwenVLPrompt/chat(user:images:system:)``.
    private func render(_ messages: [ChatMessage]) throws -> String {
        if let template = recognizer.chatTemplate {
            return try template.render(messages: messages, addGenerationPrompt: true)
        }
        var s = ""
        if messages.first?.role != "system", recognizer.model.config.modelType == .qwen2_5 {
            s += "<|im_start|>system\n\(QwenVLPrompt.defaultSystem)<|im_end|>\n"
        }
        for message in messages {
            s += "<|im_start|>\(message.role)\n"
            if case let .parts(parts) = message.content {
                for part in parts {
                    switch part {
                    case let .text(t): s += t
                    case .image: s += QwenVLPrompt.visionBlock
                    case .video: break
                    }
                }
            } else if case let .text(t) = message.content {
                s += t
            }
            s += "<|im_end|>\n"
        }
        return s + "<|im_start|>assistant\n"
    }

    func startGeneration(_ prompts: [PreparedPrompt], options: GenerationOptions) throws -> TokenStepper {
        let pixels = prompts.compactMap(\.pixels)
        let all = pixels.isEmpty ? nil : (pixels.count == 1 ? pixels[0] : concatenated(pixels, axis: 0))
        let pad = options.padTokenID ?? options.eosTokenIDs.first ?? 0
        return try withEngineErrors {
            let session = try recognizer.model.session(prompts: prompts.map(\.ids), pixels: all, grids: prompts.flatMap(\.grids), padTokenID: pad)
            return try TokenStepper(session, prompts: session.paddedPrompts, options: options)
        }
    }

    func decode(_ ids: [Int]) -> String {
        var tokens = ids
        if let last = tokens.last, recognizer.generation.eosTokenIDs.contains(last) { tokens.removeLast() }
        return recognizer.tokenizer.decode(tokens, skipSpecialTokens: true)
    }
}

// MARK: - Special tokens typed by users

/// User text never carries structure: a special token written in it (`<|image_pad|>`,
/// `<|im_start|>`...) gets a zero-width space after its first character, so the tokenizer
/// reads it as plain text and no image placeholder can be forged.
public enum SpecialTokenText {
    public static let breaker = "\u{200B}"

    public static func neutralized(_ text: String, specialTokens: [String]) -> String {
        var out = text
        for token in specialTokens where out.contains(token) {
            let first = token.prefix(1)
            out = out.replacingOccurrences(of: token, with: first + breaker + token.dropFirst())
        }
        return out
    }
}
