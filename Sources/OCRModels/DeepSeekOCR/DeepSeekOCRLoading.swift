// Loading a DeepSeek-OCR / DeepSeek-OCR 2 folder: config.json, single or sharded safetensors in
// either key layout — DeepSeek's original names (the published checkpoints, and what
// transformers' save_pretrained writes by default) or transformers' own (`vision_tower.sam_encoder`,
// `language_model`, fused `experts.gate_up_proj` [E, 2I, H] / `experts.down_proj` [E, H, I]), which
// are renamed and split into per-expert tensors here.
//
// Reference: transformers/conversion_mapping.py ("deepseek_ocr2" renames and the experts'
// MergeModulelist + Concatenate converters).

import Foundation
import MLXEngine
import MLXNN

/// How to load a DeepSeek-OCR folder: Qwen-VL's options (dtype, quantized language-model
/// linears), which mean the same here.
public typealias DeepSeekOCRLoadOptions = QwenVLLoadOptions

extension DeepSeekOCRModel {
    // MARK: Key layouts

    /// transformers' SAM names → DeepSeek's, within the SAM encoder.
    private static func originalSAMKey(_ key: String) -> String {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first else { return key }
        let rest = parts.dropFirst()
        func join(_ head: [String], _ tail: ArraySlice<String>) -> String { (head + tail).joined(separator: ".") }
        switch first {
        case "layers" where parts.count > 2:
            let renamed = ["layer_norm1": "norm1", "layer_norm2": "norm2"][parts[2]] ?? parts[2]
            return join(["blocks", parts[1], renamed], parts.dropFirst(3))
        case "patch_embed" where parts.count > 1 && parts[1] == "projection":
            return join(["patch_embed", "proj"], parts.dropFirst(2))
        case "neck" where parts.count > 1:
            let index = ["conv1": "0", "layer_norm1": "1", "conv2": "2", "layer_norm2": "3"][parts[1]] ?? parts[1]
            return join(["neck", index], parts.dropFirst(2))
        case "proj" where parts.count > 1:
            return join([parts[1] == "conv1" ? "net_2" : parts[1] == "conv2" ? "net_3" : "proj." + parts[1]], parts.dropFirst(2))
        default:
            return join([first], rest)
        }
    }

    /// Maps checkpoint keys to ours (DeepSeek's original layout): transformers' names renamed, its
    /// fused expert tensors split per expert; a tied `lm_head.weight` is dropped.
    public static func sanitize(_ weights: [String: MLXArray], tied: Bool) throws -> [String: MLXArray] {
        var out: [String: MLXArray] = [:]
        let renames: [(String, String)] = [
            ("model.vision_tower.vision_encoder.", "model.qwen2_model.model.model."),
            ("model.vision_tower.query_768_resolution.", "model.qwen2_model.query_768."),
            ("model.vision_tower.query_1024_resolution.", "model.qwen2_model.query_1024."),
            ("model.multi_modal_projector.", "model.projector.layers."),
            ("model.language_model.", "model."),
        ]
        for (key, value) in weights {
            var k = key
            if k.hasPrefix("model.vision_tower.sam_encoder.") {
                k = "model.sam_model." + originalSAMKey(String(k.dropFirst("model.vision_tower.sam_encoder.".count)))
            } else if k == "model.view_separator" {
                k = "model.view_seperator"
            } else if let (from, to) = renames.first(where: { k.hasPrefix($0.0) }) {
                k = to + k.dropFirst(from.count)
            }
            if tied && k == "lm_head.weight" { continue }
            if k.hasSuffix(".mlp.experts.gate_up_proj") || k.hasSuffix(".mlp.experts.down_proj") {
                let prefix = String(k.dropLast(k.hasSuffix("gate_up_proj") ? "gate_up_proj".count : "down_proj".count))
                guard value.ndim == 3 else { throw DeepSeekOCRError("\(key): expected [experts, out, in], got \(value.shape)") }
                for e in 0 ..< value.dim(0) {
                    let expert = value.sliced(axis: 0, from: e, to: e + 1).squeezed(axis: 0)
                    if k.hasSuffix("gate_up_proj") {
                        let half = expert.dim(0) / 2
                        out["\(prefix)\(e).gate_proj.weight"] = expert.sliced(axis: 0, from: 0, to: half)
                        out["\(prefix)\(e).up_proj.weight"] = expert.sliced(axis: 0, from: half)
                    } else {
                        out["\(prefix)\(e).down_proj.weight"] = expert
                    }
                }
                continue
            }
            out[k] = value
        }
        return out
    }

    // MARK: Loading

    /// Loads a Hugging Face DeepSeek-OCR (v1) or DeepSeek-OCR 2 folder.
    public static func load(from folder: URL, options: DeepSeekOCRLoadOptions = .init()) throws -> DeepSeekOCRModel {
        let config = try ModelFolder.readConfig(DeepSeekOCRConfig.self, at: folder)
        try checkProjector(folder)
        let model = try DeepSeekOCRModel(config: config)
        var weights: [String: MLXArray] = [:]
        let files = try ModelFolder.weightFiles(in: folder)
        for file in files {
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw ModelFolderError("\(file.path) (named by model.safetensors.index.json) is missing")
            }
            weights.merge(try loadSafeTensors(path: file.path).arrays) { a, _ in a }
        }
        weights = try sanitize(weights, tied: config.tieWordEmbeddings)
        if let dtype = options.dtype {
            for (k, v) in weights where v.dtype.isFloatingPoint && v.dtype != dtype { weights[k] = v.asType(dtype) }
        } else if Device.defaultDevice == .cpu {
            for (k, v) in weights where v.dtype == .bfloat16 || v.dtype == .float16 { weights[k] = v.asType(.float32) }
        }
        try model.update(parameters: weights, verify: .all, source: files.map(\.path).joined(separator: ", "))
        if let bits = options.quantizationBits {
            try model.quantizeLinears(matching: ["model.layers.*"], groupSize: options.quantizationGroupSize, bits: bits)
        }
        try eval(model.parameters().map(\.array))
        return model
    }

    /// v1's projector must be the "linear" one (the only type DeepSeek-OCR uses).
    private static func checkProjector(_ folder: URL) throws {
        struct Header: Decodable {
            struct Projector: Decodable { let projector_type: String? }
            let projector_config: Projector?
        }
        let url = folder.appendingPathComponent(ModelFolder.configFile)
        let header = try? JSONDecoder().decode(Header.self, from: Data(contentsOf: url))
        if let type = header?.projector_config?.projector_type, type != "linear" {
            throw ModelFolderError("\(url.path): projector_type \"\(type)\" is not supported (DeepSeek-OCR's is \"linear\")")
        }
    }
}
