// The `hf` and `peft` formats' shared parts: a merged Hugging Face folder (a module's parameters
// under transformers' key names as model.safetensors, with the model folder's config, tokenizer,
// processor, chat template and generation files), and a run's LoRA adapter alone in PEFT's layout
// (adapter_config.json + adapter_model.safetensors) checked for what vLLM and peft require.
//
// Reference: transformers modeling_utils (save_pretrained: model.safetensors, "format": "pt"),
// peft utils/save_and_load.py (adapter keys `base_model.model.<path>.lora_{A,B}.weight`),
// vLLM lora/models.py (modules_to_save unsupported; LoRA on the language model only).

import Foundation
import MLXEngine
import MLXNN
import OCRTraining

enum HuggingFaceExport {
    /// Files of a model folder that travel with its weights (configs, tokenizer, processor, templates).
    static func companions(of model: URL) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: model.path).sorted()
        return names.filter { name in
            guard !name.hasPrefix("."), name != "model.safetensors.index.json", name != Exporter.manifestFile else { return false }
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: model.appendingPathComponent(name).path, isDirectory: &isDirectory)
            if !exists || isDirectory.boolValue { return false }
            return [".json", ".jinja", ".txt", ".model", ".tiktoken"].contains { name.hasSuffix($0) }
        }
    }

    /// Writes `weights` (transformers' keys) as model.safetensors with the companions of `model`.
    static func write(weights: [String: MLXArray], companionsOf model: URL, to folder: URL, format: ExportFormat, family: String) throws -> ExportManifest {
        try saveSafeTensors(weights, metadata: ["format": "pt"], to: folder.appendingPathComponent("model.safetensors").path)
        let shared = try companions(of: model)
        for name in shared {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return ExportManifest(format: format, family: family, variants: [ExportVariant(name: "none", files: ["model.safetensors"])], shared: shared)
    }

    /// Copies a PEFT adapter folder, refusing what its deployers cannot load: `modules_to_save`, and
    /// (vision–language models) adapted modules `outsideLanguageModel` names.
    static func writeAdapter(
        _ adapter: URL, to folder: URL, family: String, baseModel: String, outsideLanguageModel: ((String) -> Bool)? = nil
    ) throws -> ExportManifest {
        let configURL = adapter.appendingPathComponent(PEFTAdapter.configFile)
        let weightsURL = adapter.appendingPathComponent(PEFTAdapter.weightsFile)
        guard let data = FileManager.default.contents(atPath: configURL.path),
            var config = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw ExportError("\(adapter.path) is not a PEFT adapter folder (no readable \(PEFTAdapter.configFile))") }
        if let saved = config["modules_to_save"] as? [String], !saved.isEmpty {
            throw ExportError("\(configURL.path): modules_to_save \(saved) — vLLM loads LoRA layers only; export --format hf instead")
        }
        let keys = try loadSafeTensors(path: weightsURL.path).arrays.keys.sorted()
        guard !keys.isEmpty else { throw ExportError("\(weightsURL.path) holds no adapter weights") }
        if let outsideLanguageModel, let key = keys.first(where: outsideLanguageModel) {
            throw ExportError(
                "\(weightsURL.path): \(key) adapts the vision tower; vLLM takes LoRA on the language model only (train with the default targets, or export --format hf)")
        }
        config["modules_to_save"] = NSNull()
        config["base_model_name_or_path"] = baseModel
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: folder.appendingPathComponent(PEFTAdapter.configFile))
        try FileManager.default.copyItem(at: weightsURL, to: folder.appendingPathComponent(PEFTAdapter.weightsFile))
        return ExportManifest(
            format: .peft, family: family, variants: [ExportVariant(name: "none", files: [PEFTAdapter.configFile, PEFTAdapter.weightsFile])],
            shared: [])
    }
}
