// What the GGUF exports of every family share, as llama.cpp's converter does it: the tensor type a
// variant stores (1-D tensors in F32, rows Q8_0 cannot block in F16), the two files of a
// vision–language model (`<name>-<TYPE>.gguf` per variant, one `mmproj-<name>-F16.gguf`), and the
// byte-level BPE vocabulary of a tokenizer.json in GGUF's `tokenizer.ggml.*` keys ("gpt2" model:
// tokens with their types, merges, and the pre-tokenizer named by its split regexes).
//
// Reference: llama.cpp convert_hf_to_gguf.py / conversion/base.py (prepare_tensors: type choice;
// get_vocab_base, does_token_look_special), gguf-py vocab.py (SpecialVocab: merges, special ids,
// add_bos from the post-processor), src/llama-vocab.cpp (each pre-tokenizer's regexes).

import Foundation
import MLXEngine
import OCRText

// MARK: - Tensor types

extension GGMLType {
    /// The type of a `--quantize` variant of the gguf format (f16, bf16, q8_0).
    init(variant: String) {
        switch variant {
        case "bf16": self = .bf16
        case "q8_0": self = .q8_0
        default: self = .f16
        }
    }

    /// `general.file_type` (llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32).
    var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q8_0: 7
        case .bf16: 32
        }
    }

    /// How a tensor is stored in a file of this type: 1-D tensors (norms, biases) in F32; Q8_0
    /// rows that are not whole blocks of 32 in F16, as the converter falls back.
    func storage(for a: MLXArray) -> GGMLType {
        if a.ndim < 2 { return .f32 }
        if self == .q8_0 && a.dim(-1) % Quantizers.q8BlockSize != 0 { return .f16 }
        return self
    }
}

// MARK: - The two files

enum GGUFModelFiles {
    /// Writes `mmproj-<name>-F16.gguf` once and `<name>-<TYPE>.gguf` for each variant.
    static func write(
        name: String, variants: [String], to out: URL, mmproj: () throws -> GGUFWriter, languageModel: (GGMLType) throws -> GGUFWriter
    ) throws -> [ExportVariant] {
        let projector = "mmproj-\(name)-F16.gguf"
        try mmproj().write(to: out.appendingPathComponent(projector))
        return try variants.map { variant in
            let type = GGMLType(variant: variant)
            let file = "\(name)-\(type.name).gguf"
            try languageModel(type).write(to: out.appendingPathComponent(file))
            return ExportVariant(name: variant, files: [file, projector])
        }
    }

    /// A tensor of `w`, or an error naming the missing parameter.
    static func tensor(_ w: [String: MLXArray], _ key: String) throws -> MLXArray {
        guard let a = w[key] else { throw ExportError("the model has no parameter \(key)") }
        return a
    }
}

// MARK: - Vocabulary

/// A byte-level BPE tokenizer.json as the converter reads it.
struct GGUFVocabulary {
    /// llama.cpp's token types.
    enum TokenType: Int32 { case normal = 1, control = 3, userDefined = 4, unused = 5 }

    let url: URL
    var tokens: [String]
    var types: [Int32]
    var merges: [String]
    /// Added tokens: content → id.
    var added: [String: Int]
    /// The regexes of the pre-tokenizer's Split steps, in order.
    var splitPatterns: [String]
    /// Whether the post-processor's single template starts with a special token (gguf-py's add_bos).
    var templateStartsWithSpecial: String?

    /// Reads `folder/tokenizer.json`, ids ≥ `vocabSize` dropped, missing ids as unused `[PADn]`.
    init(folder: URL, vocabSize: Int) throws {
        url = folder.appendingPathComponent("tokenizer.json")
        guard let data = FileManager.default.contents(atPath: url.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let model = object["model"] as? [String: Any], model["type"] as? String == "BPE",
            let vocab = model["vocab"] as? [String: Int]
        else { throw ExportError("\(url.path): not a BPE tokenizer.json") }
        tokens = (0 ..< vocabSize).map { "[PAD\($0)]" }
        types = [Int32](repeating: TokenType.unused.rawValue, count: vocabSize)
        for (token, id) in vocab where id >= 0 && id < vocabSize {
            tokens[id] = token
            types[id] = TokenType.normal.rawValue
        }
        added = [:]
        for entry in object["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String, id >= 0, id < vocabSize else { continue }
            added[content] = id
            if (entry["special"] as? Bool ?? false) || Self.looksSpecial(content) {
                tokens[id] = content
                types[id] = TokenType.control.rawValue
            } else {
                tokens[id] = content.replacingOccurrences(of: "\u{2581}", with: " ")  // pre-normalized user-defined spaces
                types[id] = TokenType.userDefined.rawValue
            }
        }
        merges = (model["merges"] as? [Any] ?? []).compactMap { merge in
            if let s = merge as? String { return s }
            // Pairs: a space inside a part is written as U+0120, as gguf-py does.
            if let pair = merge as? [String], pair.count == 2 {
                return pair.map { $0.replacingOccurrences(of: " ", with: "\u{0120}") }.joined(separator: " ")
            }
            return nil
        }
        splitPatterns = Self.splits(object["pre_tokenizer"])
        let post = object["post_processor"] as? [String: Any]
        let processors = (post?["processors"] as? [[String: Any]]) ?? (post.map { [$0] } ?? [])
        for p in processors where p["type"] as? String == "TemplateProcessing" {
            if let single = p["single"] as? [[String: Any]], single.count > 1,
                let first = (single.first?["SpecialToken"] as? [String: Any])?["id"] as? String {
                templateStartsWithSpecial = first
            }
        }
    }

    /// Added tokens some models leave unmarked that the converter makes control tokens.
    static func looksSpecial(_ token: String) -> Bool {
        (token.hasPrefix("<|") && token.hasSuffix("|>")) || (token.hasPrefix("<｜") && token.hasSuffix("｜>"))
            || ["<pad>", "<mask>"].contains(token) || (token.hasPrefix("<unused") && token.hasSuffix(">"))
    }

    private static func splits(_ node: Any?) -> [String] {
        guard let node = node as? [String: Any] else { return [] }
        if node["type"] as? String == "Sequence" { return (node["pretokenizers"] as? [Any] ?? []).flatMap(splits) }
        if node["type"] as? String == "Split", let pattern = node["pattern"] as? [String: Any], let regex = pattern["Regex"] as? String {
            // tokenizer.json writes some line breaks escaped and some literal: compare in one form.
            return [regex.replacingOccurrences(of: "\r", with: #"\r"#).replacingOccurrences(of: "\n", with: #"\n"#)]
        }
        return []
    }

    // MARK: Pre-tokenizers

    /// llama.cpp's pre-tokenizer names by the Split regexes of tokenizer.json (byte-level, the
    /// regexes as Hugging Face writes them).
    static let preTokenizers: [(name: String, splits: [String])] = [
        ("qwen2", [#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]),
        ("llama-bpe", [#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]),
        ("deepseek-v3", [
            #"\p{N}{1,3}"#, "[一-龥぀-ゟ゠-ヿ]+",
            ##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"##,
        ]),
    ]

    /// The llama.cpp pre-tokenizer whose regexes this tokenizer splits with.
    func preTokenizer() throws -> String {
        if let known = Self.preTokenizers.first(where: { $0.splits == splitPatterns }) { return known.name }
        throw ExportError(
            "\(url.path): the pre-tokenizer (Split \(splitPatterns)) is none llama.cpp names (known: \(Self.preTokenizers.map(\.name).joined(separator: ", ")))")
    }

    /// `tokenizer.ggml.{model, pre, tokens, token_type, merges}`.
    func write(into g: GGUFWriter, pre: String) {
        g.set("tokenizer.ggml.model", .string("gpt2"))
        g.set("tokenizer.ggml.pre", .string(pre))
        g.set("tokenizer.ggml.tokens", .strings(tokens))
        g.set("tokenizer.ggml.token_type", .int32s(types))
        g.set("tokenizer.ggml.merges", .strings(merges))
    }
}
