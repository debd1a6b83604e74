// Tokenizer.swift — a Hugging Face `tokenizers`-compatible tokenizer:
// tokenizer.json (BPE, Unigram, WordPiece with their normalizers,
// pre-tokenizers, post-processors and decoders) or GPT-2 style
// vocab.json + merges.txt. Encode/decode match the `tokenizers` library.

import Foundation

// MARK: - Tokenizer

/// Encodes text to token ids and decodes ids back to text.
///
/// The pipeline is `tokenizers`': added tokens are split out of the raw text,
/// the remaining pieces are normalized (then normalized added tokens are
/// split out), pre-tokenized into words, run through the model, and finally
/// wrapped by the post-processor. Immutable after loading (the BPE word cache
/// is locked), so one instance may be shared across threads.
public final class Tokenizer: @unchecked Sendable {
    // MARK: Special token ids

    /// Ids of conventional special tokens, where the files declare them.
    public struct SpecialTokenIDs: Equatable, Sendable {
        public var bos: Int?
        public var eos: Int?
        public var pad: Int?
        public var unk: Int?

        public init(bos: Int? = nil, eos: Int? = nil, pad: Int? = nil, unk: Int? = nil) {
            self.bos = bos
            self.eos = eos
            self.pad = pad
            self.unk = unk
        }
    }

    // MARK: Stored state

    let model: TokenModel
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let postProcessor: PostProcessor?
    private let decoder: Decoder?
    /// Added tokens in file order.
    public let addedTokens: [AddedToken]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let addedByID: [Int: AddedToken]
    /// Token string of each added id: the content, normalized for `normalized` tokens
    /// (what `tokenizers`' `id_to_token` and `decode` return).
    private let addedTokenStrings: [Int: String]
    private let addedByContent: [TokenKey: AddedToken]
    private let modelTokens: [Int: String]

    /// Ids of bos / eos / pad / unk tokens (see `init(directory:)` for how they are found).
    public private(set) var specialTokenIDs: SpecialTokenIDs

    // MARK: Loading

    /// Loads a `tokenizers` tokenizer.json.
    public convenience init(tokenizerJSON url: URL) throws {
        let data = try Self.read(url)
        try self.init(json: try JSONNode.parse(data, file: url.lastPathComponent), config: nil)
    }

    /// Loads `tokenizer.json` from `directory`, or else `vocab.json` + `merges.txt`
    /// (GPT-2 / RoBERTa layout). When `tokenizer_config.json` is present its
    /// `bos_token` / `eos_token` / `pad_token` / `unk_token` name the special ids;
    /// otherwise they are guessed from the usual names (`<s>`, `</s>`, `<pad>`, …)
    /// and from the post-processor.
    public convenience init(directory: URL) throws {
        let fm = FileManager.default
        let config = try Self.readConfig(directory.appendingPathComponent("tokenizer_config.json"))
        let json = directory.appendingPathComponent("tokenizer.json")
        if fm.fileExists(atPath: json.path) {
            try self.init(json: try JSONNode.parse(try Self.read(json), file: json.lastPathComponent), config: config)
            return
        }
        let vocab = directory.appendingPathComponent("vocab.json")
        let merges = directory.appendingPathComponent("merges.txt")
        guard fm.fileExists(atPath: vocab.path), fm.fileExists(atPath: merges.path) else {
            throw TokenizerError.noTokenizerFiles(directory: directory.path)
        }
        try self.init(vocabJSON: vocab, mergesTXT: merges, config: config)
    }

    /// Loads a GPT-2 / RoBERTa style byte-level BPE from `vocab.json` + `merges.txt`.
    ///
    /// Vocabulary entries named `<s>`, `</s>`, `<pad>`, `<unk>`, `<mask>` and
    /// `<|endoftext|>` become special tokens (`<mask>` with lstrip, as RoBERTa);
    /// `<s>` … `</s>` are added around sequences when both exist.
    public convenience init(vocabJSON: URL, mergesTXT: URL) throws {
        try self.init(vocabJSON: vocabJSON, mergesTXT: mergesTXT, config: nil)
    }

    private convenience init(vocabJSON: URL, mergesTXT: URL, config: [String: String]?) throws {
        let vocabNode = try JSONNode.parse(try Self.read(vocabJSON), file: vocabJSON.lastPathComponent)
        let vocab = try Self.parseVocabObject(vocabNode)
        let file = mergesTXT.lastPathComponent
        guard let text = String(data: try Self.read(mergesTXT), encoding: .utf8) else {
            throw TokenizerError.unreadable(file: file, reason: "not UTF-8")
        }
        var merges: [(String, String)] = []
        for (n, line) in text.scalarSplit("\n").enumerated() {
            let l = line.unicodeScalars.last == "\r" ? String(line.unicodeScalars.dropLast()) : line
            if l.isEmpty || (n == 0 && l.hasScalarPrefix("#version")) { continue }
            let parts = l.scalarSplit(" ")
            guard parts.count == 2 else {
                throw TokenizerError.invalidField(file: file, field: "line \(n + 1)", reason: "expected 'left right'")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        let model = try BPEModel(vocab: vocab, merges: merges) { rank, reason in
            TokenizerError.invalidField(file: file, field: "merge \(rank)", reason: reason)
        }
        var added: [AddedToken] = []
        for name in ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<|endoftext|>"] {
            if let id = vocab[name] { added.append(AddedToken(id: id, content: name, lstrip: name == "<mask>")) }
        }
        added.sort { $0.id < $1.id }
        var post: PostProcessor?
        if let bos = vocab["<s>"], let eos = vocab["</s>"] { post = .wrap(prefix: [bos], suffix: [eos]) }
        self.init(model: model, normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: false, useRegex: true),
                  postProcessor: post, decoder: .byteLevel, addedTokens: added, config: config)
    }

    private convenience init(json root: JSONNode, config: [String: String]?) throws {
        let model = try Self.parseModel(try root.required("model"))
        let added = try root.optional("added_tokens")?.array().map(AddedToken.init(json:)) ?? []
        self.init(model: model,
                  normalizer: try root.optional("normalizer").map(Normalizer.init(json:)),
                  preTokenizer: try root.optional("pre_tokenizer").map(PreTokenizer.init(json:)),
                  postProcessor: try root.optional("post_processor").map(PostProcessor.init(json:)),
                  decoder: try root.optional("decoder").map(Decoder.init(json:)),
                  addedTokens: added, config: config)
    }

    private init(model: TokenModel, normalizer: Normalizer?, preTokenizer: PreTokenizer?,
                 postProcessor: PostProcessor?, decoder: Decoder?, addedTokens: [AddedToken],
                 config: [String: String]?) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = addedTokens
        let patterns = addedTokens.map { ($0, $0.normalized ? normalizer?.normalize($0.content) ?? $0.content : $0.content) }
        rawMatcher = AddedTokenMatcher(patterns.filter { !$0.0.normalized })
        normalizedMatcher = AddedTokenMatcher(patterns.filter { $0.0.normalized })
        var byID: [Int: AddedToken] = [:]
        var strings: [Int: String] = [:]
        var byContent: [TokenKey: AddedToken] = [:]
        for (t, pattern) in patterns {
            byID[t.id] = t
            strings[t.id] = pattern
            byContent[t.content] = t
        }
        addedByID = byID
        addedTokenStrings = strings
        addedByContent = byContent
        modelTokens = model.tokensByID
        specialTokenIDs = SpecialTokenIDs()
        specialTokenIDs = resolveSpecialIDs(config: config)
    }

    // MARK: Vocabulary

    /// Number of distinct ids (model vocabulary plus added tokens).
    public var vocabularySize: Int {
        modelTokens.count + addedByID.keys.filter { modelTokens[$0] == nil }.count
    }

    /// Id of `token` (added tokens first, then the model's vocabulary).
    public func tokenToID(_ token: String) -> Int? {
        addedByContent[token]?.id ?? model.vocab[token]
    }

    /// Token string of `id`.
    public func idToToken(_ id: Int) -> String? {
        addedTokenStrings[id] ?? modelTokens[id]
    }

    /// The model's unknown-token id, if it has one.
    var modelUnknownID: Int? {
        switch model {
        case let m as BPEModel: return m.unkToken.flatMap { m.vocab[$0] }
        case let m as UnigramModel: return m.unkID
        case let m as WordPieceModel: return m.vocab[m.unkToken]
        default: return nil
        }
    }

    /// Whether `id` is a special added token (skipped when decoding with `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool { addedByID[id]?.special ?? false }

    // MARK: Encoding

    /// Token ids of `text`; `addSpecialTokens` applies the post-processor
    /// (special tokens written in the text are always recognized).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        var isFirst = true
        for (piece, token) in rawMatcher.split(text) {
            defer { isFirst = false }
            if let token { ids.append(token.id); continue }
            if piece.isEmpty { continue }
            let (normalized, keepsStart) = normalizer?.normalizeTrackingStart(piece) ?? (piece, true)
            var first = isFirst && keepsStart
            for (sub, subToken) in normalizedMatcher.split(normalized) {
                defer { first = false }
                if let subToken { ids.append(subToken.id); continue }
                if sub.isEmpty { continue }
                let words = preTokenizer?.preTokenize([(sub, first)]) ?? [(sub, first)]
                for (word, _) in words { ids += model.tokenize(word) }
            }
        }
        if addSpecialTokens, let post = postProcessor { ids = post.process(ids) }
        return ids
    }

    /// Token strings of `text` (no special tokens added).
    public func tokenize(_ text: String) -> [String] {
        encode(text, addSpecialTokens: false).map { idToToken($0) ?? "" }
    }

    // MARK: Decoding

    /// Text of `ids`; unknown ids are ignored.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedByID[id] {
                if skipSpecialTokens && added.special { continue }
                tokens.append(addedTokenStrings[id] ?? added.content)
            } else if let token = modelTokens[id] {
                if skipSpecialTokens, addedByContent[token]?.special == true { continue }
                tokens.append(token)
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens)
    }
}
