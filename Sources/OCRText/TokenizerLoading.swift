// TokenizerLoading.swift — reading the model section of tokenizer.json, the
// GPT-2 vocab.json, tokenizer_config.json, and resolving special token ids.

import Foundation

extension Tokenizer {
    // MARK: Files

    static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadable(file: url.lastPathComponent, reason: error.localizedDescription)
        }
    }

    /// `bos_token` / `eos_token` / `pad_token` / `unk_token` of tokenizer_config.json
    /// (strings or `{"content": …}` objects); nil when the file is absent.
    static func readConfig(_ url: URL) throws -> [String: String]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let root = try JSONNode.parse(try read(url), file: url.lastPathComponent)
        var out: [String: String] = [:]
        for key in ["bos_token", "eos_token", "pad_token", "unk_token"] {
            guard let node = try root.optional(key) else { continue }
            if case let .string(s) = node.value {
                out[key] = s
            } else if let content = try node.optionalString("content") {
                out[key] = content
            }
        }
        return out
    }

    // MARK: Model section

    static func parseVocabObject(_ node: JSONNode) throws -> Vocabulary {
        guard case let .object(pairs) = node.value else { throw node.invalid("expected an object") }
        var vocab: Vocabulary = [:]
        vocab.reserveCapacity(pairs.count)
        for (token, value) in pairs {
            // An id is a u32 in `tokenizers`; BPE packs two into a merge key, and a negative id trapped
            // there (Fuzz/tokenizer, crash-d2019d1d…).
            guard case let .int(id) = value else {
                throw JSONNode(value: value, path: node.childPath(token), file: node.file).invalid("expected an integer id")
            }
            guard 0...Int(UInt32.max) ~= id else {
                throw JSONNode(value: value, path: node.childPath(token), file: node.file)
                    .invalid("id \(id) out of range 0...\(UInt32.max)")
            }
            vocab[TokenKey(token)] = id
        }
        return vocab
    }

    static func parseModel(_ node: JSONNode) throws -> TokenModel {
        var type = try node.optionalString("type")
        if type == nil {
            // Older files omit the type: infer it from the fields.
            if node.has("merges") { type = "BPE" } else if (try? node.required("vocab"))?.isArray == true {
                type = "Unigram"
            } else { type = "WordPiece" }
        }
        switch type! {
        case "BPE":
            let vocab = try parseVocabObject(try node.required("vocab"))
            var merges: [(String, String)] = []
            if let mergesNode = try node.optional("merges") {
                let items = try mergesNode.rawItems()
                merges.reserveCapacity(items.count)
                for (i, item) in items.enumerated() {
                    // "left right" (older files) or ["left", "right"].
                    if case let .string(s) = item {
                        let parts = s.scalarSplit(" ")
                        guard parts.count == 2 else { throw mergesNode.element(i, item).invalid("expected \"left right\"") }
                        merges.append((parts[0], parts[1]))
                    } else if case let .array(pair) = item, pair.count == 2,
                              case let .string(a) = pair[0], case let .string(b) = pair[1] {
                        merges.append((a, b))
                    } else {
                        throw mergesNode.element(i, item).invalid("expected [left, right]")
                    }
                }
            }
            let mergesPath = node.childPath("merges")
            let file = node.file
            return try BPEModel(
                vocab: vocab, merges: merges,
                unkToken: try node.optionalString("unk_token"),
                byteFallback: try node.bool("byte_fallback", default: false),
                fuseUnk: try node.bool("fuse_unk", default: false),
                ignoreMerges: try node.bool("ignore_merges", default: false),
                continuingSubwordPrefix: try node.optionalString("continuing_subword_prefix"),
                endOfWordSuffix: try node.optionalString("end_of_word_suffix")
            ) { rank, reason in
                TokenizerError.invalidField(file: file, field: "\(mergesPath)[\(rank)]", reason: reason)
            }
        case "Unigram":
            let vocabNode = try node.required("vocab")
            let items = try vocabNode.rawItems()
            var pieces: [(String, Double)] = []
            pieces.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case let .array(pair) = item, pair.count == 2, case let .string(piece) = pair[0] else {
                    throw vocabNode.element(i, item).invalid("expected [piece, score]")
                }
                switch pair[1] {
                case let .double(score): pieces.append((piece, score))
                case let .int(score): pieces.append((piece, Double(score)))
                default: throw vocabNode.element(i, item).invalid("expected [piece, score]")
                }
            }
            let unk = try node.optionalInt("unk_id")
            if let unk, !(0..<pieces.count).contains(unk) {
                throw try node.required("unk_id").invalid("out of range 0..<\(pieces.count)")
            }
            return UnigramModel(pieces: pieces, unkID: unk, byteFallback: try node.bool("byte_fallback", default: false))
        case "WordPiece":
            return WordPieceModel(
                vocab: try parseVocabObject(try node.required("vocab")),
                unkToken: try node.optionalString("unk_token") ?? "[UNK]",
                prefix: try node.optionalString("continuing_subword_prefix") ?? "##",
                maxInputCharsPerWord: try node.optionalInt("max_input_chars_per_word") ?? 100)
        default:
            throw node.unsupported(type!)
        }
    }

    // MARK: Special ids

    func resolveSpecialIDs(config: [String: String]?) -> SpecialTokenIDs {
        var ids = SpecialTokenIDs()
        func first(_ names: [String]) -> Int? {
            for n in names { if let id = tokenToID(n) { return id } }
            return nil
        }
        if let config {
            ids.bos = config["bos_token"].flatMap(tokenToID)
            ids.eos = config["eos_token"].flatMap(tokenToID)
            ids.pad = config["pad_token"].flatMap(tokenToID)
            ids.unk = config["unk_token"].flatMap(tokenToID)
        }
        ids.unk = ids.unk ?? modelUnknownID
        ids.bos = ids.bos ?? first(["<s>", "<|startoftext|>", "<bos>", "[CLS]"])
        ids.eos = ids.eos ?? first(["</s>", "<|endoftext|>", "<eos>", "[SEP]"])
        ids.pad = ids.pad ?? first(["<pad>", "[PAD]", "<|padding|>"])
        return ids
    }
}
