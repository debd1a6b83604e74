// LoRA adapters in PEFT's format: adapter_config.json + adapter_model.safetensors.

import Foundation
import MLXEngine
import MLXNN
import OCRSupport

/// PEFT stores adapter weights of a transformers model under `base_model.model.<module path>`,
/// with the adapter name ("default") removed: `base_model.model.layers.0.q_proj.lora_A.weight`.
/// Our keys are the checkpoint's own, so the mapping is that prefix.
public enum PEFTAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"
    static let prefix = "base_model.model."

    /// Writes the adapter of `module` (every LoRA layer) into `directory`, atomically.
    public static func save(
        module: Module, configuration: LoRAConfiguration, baseModel: String, to directory: String
    ) throws {
        let lora = module.loraParameters()
        guard !lora.isEmpty else { throw TrainingError("the model has no LoRA layers to save") }
        let targets = targetModules(of: module)
        let config: [String: Any] = [
            "peft_type": "LORA", "task_type": NSNull(), "base_model_name_or_path": baseModel,
            "r": configuration.r, "lora_alpha": configuration.loraAlpha, "lora_dropout": configuration.loraDropout,
            "use_rslora": configuration.useRSLoRA, "target_modules": targets, "bias": "none",
            "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
            "modules_to_save": NSNull(), "revision": NSNull(), "use_dora": false,
        ]
        try AtomicDirectory.write(to: directory) { temporary in
            let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try json.write(to: URL(fileURLWithPath: (temporary as NSString).appendingPathComponent(configFile)))
            var arrays: [String: MLXArray] = [:]
            for (key, array) in lora { arrays[prefix + key] = array }
            try saveSafeTensors(arrays, metadata: ["format": "pt"], to: (temporary as NSString).appendingPathComponent(weightsFile))
        }
    }

    /// PEFT's `target_modules` for the LoRA layers of `module`. PEFT selects a module when its
    /// path equals a name or ends with "." + name, so a layer is listed by its last path
    /// component when that selects only adapted layers (`q_proj`), and by its full path
    /// otherwise: the PP-OCR classifier `head.head` cannot be "head", which would also select
    /// the root's `head` (the whole SVTR head, which PEFT cannot adapt).
    static func targetModules(of module: Module) -> [String] {
        let modules = module.namedModules().filter { !$0.path.isEmpty }
        let adapted = Set(modules.filter { $0.module is LoRALinear }.map(\.path))
        func selects(_ name: String, _ path: String) -> Bool { path == name || path.hasSuffix("." + name) }
        var names = Set<String>()
        for path in adapted {
            let last = String(path.split(separator: ".").last!)
            let onlyAdapted = modules.allSatisfy { !selects(last, $0.path) || adapted.contains($0.path) }
            names.insert(onlyAdapted ? last : path)
        }
        return names.sorted()
    }

    /// Reads an adapter folder: its LoRA configuration and weights under our key names.
    public static func load(from directory: String) throws -> (configuration: LoRAConfiguration, weights: [String: MLXArray], baseModel: String?) {
        let configPath = (directory as NSString).appendingPathComponent(configFile)
        guard let data = FileManager.default.contents(atPath: configPath),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw TrainingError("\(configPath): not found or not JSON") }
        guard object["peft_type"] as? String == "LORA" else { throw TrainingError("\(configPath): peft_type is not LORA") }
        guard let r = object["r"] as? Int, let alpha = (object["lora_alpha"] as? NSNumber)?.doubleValue else {
            throw TrainingError("\(configPath): needs \"r\" and \"lora_alpha\"")
        }
        let targets: [String]
        if let list = object["target_modules"] as? [String] { targets = list }
        else if let one = object["target_modules"] as? String { targets = [one] }
        else { throw TrainingError("\(configPath): needs \"target_modules\"") }
        let configuration = LoRAConfiguration(
            r: r, alpha: alpha, dropout: (object["lora_dropout"] as? NSNumber)?.floatValue ?? 0,
            rsLoRA: object["use_rslora"] as? Bool ?? false, targetModules: targets)
        let raw = try loadSafeTensors(path: (directory as NSString).appendingPathComponent(weightsFile)).arrays
        var weights: [String: MLXArray] = [:]
        for (key, array) in raw {
            var k = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
            k = k.replacingOccurrences(of: ".lora_A.default.", with: ".lora_A.").replacingOccurrences(of: ".lora_B.default.", with: ".lora_B.")
            weights[k] = array
        }
        return (configuration, weights, object["base_model_name_or_path"] as? String)
    }
}
