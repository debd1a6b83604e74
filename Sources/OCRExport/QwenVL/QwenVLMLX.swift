// Qwen2.5-VL and Qwen3-VL as the folder mlx-vlm loads (its converted layout): `vision_tower.*`
// (the patch convolution channels-last, [out, T, H, W, C]), `language_model.model.*`,
// `language_model.lm_head.*`; optionally the language model quantized with MLX's affine groups
// (`--quantize 4|8`, group 64: `weight` packed, `scales`, `biases`, and "quantization" in
// config.json), the vision tower left in float as mlx-vlm's converter leaves it.
//
// Reference: mlx-vlm mlx_vlm/models/qwen2_5_vl (Model.sanitize: visual → vision_tower, model →
// language_model.model), mlx_vlm/convert.py (quantization config, skip_vision).

import Foundation
import MLXEngine
import OCRModels

enum QwenVLMLX {
    static let groupSize = 64

    static func export(model folder: URL, variant: String, to out: URL) throws -> ExportManifest {
        let bits: Int? = switch variant {
        case "4": 4
        case "8": 8
        default: nil
        }
        var weights: [String: MLXArray] = [:]
        for (key, value) in try QwenVLModel.load(from: folder).parameterDictionary() {
            var k = key
            var v = value
            if k.hasPrefix("model.visual.") {
                k = "vision_tower." + k.dropFirst("model.visual.".count)
                if k == "vision_tower.patch_embed.proj.weight" && v.ndim == 5 { v = v.transposed(0, 2, 3, 4, 1) }
            } else if k.hasPrefix("model.language_model.") {
                k = "language_model.model." + k.dropFirst("model.language_model.".count)
            } else if k == "lm_head.weight" {
                k = "language_model.lm_head.weight"
            }
            if let bits, k.hasPrefix("language_model."), k.hasSuffix(".weight"), v.ndim == 2, v.dim(-1) % groupSize == 0 {
                let q = try quantized(v.asType(.float32), groupSize: groupSize, bits: bits)
                let stem = String(k.dropLast(".weight".count))
                weights[k] = q.weight
                weights["\(stem).scales"] = q.scales
                weights["\(stem).biases"] = q.biases
            } else {
                weights[k] = v
            }
        }
        try saveSafeTensors(weights, metadata: ["format": "mlx"], to: out.appendingPathComponent("model.safetensors").path)
        guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any] else {
            throw ExportError("\(folder.path)/config.json is not a JSON object")
        }
        config = mlxVLMConfig(config)
        if let bits {
            config["quantization"] = ["group_size": groupSize, "bits": bits]
            config["quantization_config"] = ["group_size": groupSize, "bits": bits]
        }
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: out.appendingPathComponent("config.json"))
        let shared = try HuggingFaceExport.companions(of: folder).filter { $0 != "config.json" }
        for name in shared { try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: out.appendingPathComponent(name)) }
        return ExportManifest(
            format: .mlx, family: QwenVLFamily.name, variants: [ExportVariant(name: variant, files: ["model.safetensors", "config.json"])],
            shared: shared)
    }

    /// The config as mlx-vlm reads it: RoPE as `rope_theta` + `rope_scaling` (transformers 5.x
    /// writes `rope_parameters`), and for Qwen2.5-VL the text settings at the root as in the
    /// original checkpoints (mlx-vlm builds its text config from the root).
    static func mlxVLMConfig(_ config: [String: Any]) -> [String: Any] {
        var config = config
        guard var text = config["text_config"] as? [String: Any] else { return config }
        if let rope = text["rope_parameters"] as? [String: Any] {
            text["rope_theta"] = rope["rope_theta"]
            var scaling: [String: Any] = [:]
            scaling["mrope_section"] = rope["mrope_section"]
            scaling["type"] = config["model_type"] as? String == "qwen2_5_vl" ? "mrope" : (rope["rope_type"] ?? "default")
            if let interleaved = rope["mrope_interleaved"] { scaling["mrope_interleaved"] = interleaved }
            text["rope_scaling"] = scaling
        }
        config["text_config"] = text
        if var vision = config["vision_config"] as? [String: Any], let type = config["model_type"] as? String {
            vision["model_type"] = type  // mlx-vlm's vision towers accept the model's type only
            config["vision_config"] = vision
        }
        if config["model_type"] as? String == "qwen2_5_vl" {
            for (key, value) in text where config[key] == nil && key != "model_type" { config[key] = value }
        }
        return config
    }
}
