// Reading a vision encoder–decoder folder: `config.json` with its encoder and decoder types
// checked, the image processor's file, and `generation_config.json`'s defaults. Apart from the
// config types (TrOCRConfig.swift) so that those decode without the engine (Fuzz/model_config).

import Foundation

// MARK: - Config files

extension VisionEncoderDecoderConfig {
    /// Reads and checks `config.json` of a model folder.
    public static func load(from folder: URL) throws -> VisionEncoderDecoderConfig {
        struct Types: Decodable {
            struct Sub: Decodable { let model_type: String? }
            let encoder: Sub?
            let decoder: Sub?
        }
        let url = folder.appendingPathComponent(ModelFolder.configFile)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelFolderError("\(folder.path) is not a model folder: \(ModelFolder.configFile) is missing")
        }
        let types = try? JSONDecoder().decode(Types.self, from: data)
        let encoderType = types?.encoder?.model_type ?? "?"
        let decoderType = types?.decoder?.model_type ?? "?"
        guard supportedEncoders.contains(encoderType) else {
            throw ModelFolderError(
                "\(url.path): encoder.model_type \"\(encoderType)\" is not supported (known: \(supportedEncoders.joined(separator: ", ")))")
        }
        guard supportedDecoders.contains(decoderType) else {
            throw ModelFolderError(
                "\(url.path): decoder.model_type \"\(decoderType)\" is not supported (known: \(supportedDecoders.joined(separator: ", ")))")
        }
        return try ModelFolder.readConfig(VisionEncoderDecoderConfig.self, at: folder)
    }
}

extension ViTImageProcessorConfig {
    /// Reads `preprocessor_config.json`, else `processor_config.json` (its `image_processor`).
    public static func load(from folder: URL) throws -> ViTImageProcessorConfig {
        let pre = folder.appendingPathComponent("preprocessor_config.json")
        if let data = try? Data(contentsOf: pre) {
            do { return try JSONDecoder().decode(Self.self, from: data) } catch {
                throw ModelFolderError("cannot read \(pre.path): \(error)")
            }
        }
        let proc = folder.appendingPathComponent("processor_config.json")
        guard let data = try? Data(contentsOf: proc) else {
            throw ModelFolderError("\(folder.path): neither preprocessor_config.json nor processor_config.json")
        }
        struct Wrapper: Decodable { let image_processor: ViTImageProcessorConfig }
        do { return try JSONDecoder().decode(Wrapper.self, from: data).image_processor } catch {
            throw ModelFolderError("cannot read \(proc.path) (expected an \"image_processor\" object): \(error)")
        }
    }
}

// MARK: - Generation defaults

/// The fields of `generation_config.json` that ``GenerationOptions`` uses.
public struct GenerationDefaults: Decodable, Sendable, Equatable {
    public var numBeams: Int?
    public var lengthPenalty: Double?
    public var noRepeatNgramSize: Int?
    public var earlyStopping: GenerationOptions.EarlyStopping?
    public var eosTokenIDs: [Int]?
    public var padTokenID: Int?
    public var decoderStartTokenID: Int?

    enum CodingKeys: String, CodingKey {
        case numBeams = "num_beams", lengthPenalty = "length_penalty", noRepeatNgramSize = "no_repeat_ngram_size"
        case earlyStopping = "early_stopping", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
        case decoderStartTokenID = "decoder_start_token_id"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numBeams = try? c.decodeIfPresent(Int.self, forKey: .numBeams)
        lengthPenalty = try? c.decodeIfPresent(Double.self, forKey: .lengthPenalty)
        noRepeatNgramSize = try? c.decodeIfPresent(Int.self, forKey: .noRepeatNgramSize)
        if let flag = try? c.decodeIfPresent(Bool.self, forKey: .earlyStopping) {
            earlyStopping = flag ? .stopWhenFull : .heuristic
        } else if (try? c.decodeIfPresent(String.self, forKey: .earlyStopping)) == "never" {
            earlyStopping = .never
        }
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
            eosTokenIDs = [one]
        } else {
            eosTokenIDs = try? c.decodeIfPresent([Int].self, forKey: .eosTokenID)
        }
        padTokenID = try? c.decodeIfPresent(Int.self, forKey: .padTokenID)
        decoderStartTokenID = try? c.decodeIfPresent(Int.self, forKey: .decoderStartTokenID)
    }

    /// `generation_config.json` of a folder (empty defaults when absent or unreadable).
    public static func load(from folder: URL) -> GenerationDefaults {
        let url = folder.appendingPathComponent("generation_config.json")
        guard let data = try? Data(contentsOf: url) else { return GenerationDefaults() }
        return (try? JSONDecoder().decode(Self.self, from: data)) ?? GenerationDefaults()
    }
}

extension GenerationOptions.EarlyStopping: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let flag = try? c.decode(Bool.self) { self = flag ? .stopWhenFull : .heuristic; return }
        self = try c.decode(String.self) == "never" ? .never : .heuristic
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .stopWhenFull: try c.encode(true)
        case .heuristic: try c.encode(false)
        case .never: try c.encode("never")
        }
    }
}
