// DeepSeek-OCR exports: `peft`, a run's adapter (DeepSeek's module names, as the checkpoints'
// remote code names them), refused when it adapts the vision encoders (vLLM's requirement).
// The merged Hugging Face folder in transformers 5.x's own DeepSeek-OCR 2 layout and GGUF are
// not written yet.

import Foundation
import OCRModels

extension DeepSeekOCRFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.peft]

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        throw ExportError("--format \(format.rawValue): not for \(name) in this build (it exports --format peft, and ocrtune)")
    }

    public static func exportAdapter(_ adapter: URL, baseModel: URL, to folder: URL) throws -> ExportManifest {
        try HuggingFaceExport.writeAdapter(adapter, to: folder, family: name, baseModel: baseModel.path) { key in
            key.contains(".sam_model.") || key.contains(".vision_model.") || key.contains(".qwen2_model.")
        }
    }
}
