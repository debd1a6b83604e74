// DeepSeek-OCR exports: `hf`, the merged folder in DeepSeek's original key names — the published
// checkpoints' layout, which transformers 5.x's save_pretrained also writes for DeepSeek-OCR 2 and
// which its from_pretrained (and the v1 remote code) loads — with the folder's config, tokenizer
// and processor files; `peft`, a run's adapter (DeepSeek's module names), refused when it adapts
// the vision encoders (vLLM's requirement); `gguf`, the language model and mmproj llama.cpp loads
// (DeepSeekOCRGGUF).
//
// Reference: transformers/conversion_mapping.py ("deepseek_ocr2": original ↔ transformers names;
// save_pretrained reverts to the original ones).

import Foundation
import OCRModels

extension DeepSeekOCRFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.gguf, .hf, .peft]

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        switch format {
        case .hf:
            // Loading maps transformers' own names (and fused experts) to the original layout.
            let loaded = try DeepSeekOCRModel.load(from: model)
            return try HuggingFaceExport.write(weights: loaded.parameterDictionary(), companionsOf: model, to: folder, format: format, family: name)
        case .gguf:
            return ExportManifest(format: format, family: name, variants: try DeepSeekOCRGGUF.export(model: model, variants: variants, to: folder), shared: [])
        default:
            throw ExportError("--format \(format.rawValue): not for \(name) (it exports --format gguf, hf and peft)")
        }
    }

    public static func exportAdapter(_ adapter: URL, baseModel: URL, to folder: URL) throws -> ExportManifest {
        try HuggingFaceExport.writeAdapter(adapter, to: folder, family: name, baseModel: baseModel.path) { key in
            key.contains(".sam_model.") || key.contains(".vision_model.") || key.contains(".qwen2_model.")
        }
    }
}
