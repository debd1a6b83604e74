// Qwen2.5-VL and Qwen3-VL exports: `hf`, the merged folder in transformers 5.x's key layout
// (`model.language_model.*`, `model.visual.*`, `lm_head.*` unless tied) with the tokenizer,
// processor, chat template and generation files, which from_pretrained and vLLM load; `peft`,
// a run's adapter when it adapts the language model only (vLLM's requirement); `gguf`, the
// language model and mmproj llama.cpp loads (QwenVLGGUF); `mlx`, the folder mlx-vlm loads,
// optionally quantized (QwenVLMLX).
//
// Reference: transformers models/qwen2_5_vl, models/qwen3_vl (5.x checkpoint conversion mapping).

import Foundation
import OCRModels

extension QwenVLFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.gguf, .hf, .peft, .mlx]

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        switch format {
        case .hf:
            // Loading maps any older layout (`visual.*`, `model.layers.*`) to 5.x's.
            let loaded = try QwenVLModel.load(from: model)
            return try HuggingFaceExport.write(weights: loaded.parameterDictionary(), companionsOf: model, to: folder, format: format, family: name)
        case .gguf:
            let variants = try QwenVLGGUF.export(model: model, variants: variants, to: folder)
            let notes = QwenVLGGUF.runtimeNotes(try ModelFolder.readConfig(QwenVLConfig.self, at: model))
            return ExportManifest(format: format, family: name, variants: variants, shared: [], notes: notes.isEmpty ? nil : notes)
        case .mlx:
            guard variants.count == 1 else { throw ExportError("--format mlx writes one variant per folder (--quantize 4, 8 or none)") }
            return try QwenVLMLX.export(model: model, variant: variants[0], to: folder)
        default:
            throw ExportError("--format \(format.rawValue): not for \(name)")
        }
    }

    public static func exportAdapter(_ adapter: URL, baseModel: URL, to folder: URL) throws -> ExportManifest {
        try HuggingFaceExport.writeAdapter(adapter, to: folder, family: name, baseModel: baseModel.path) { key in
            key.contains(".visual.")
        }
    }
}
