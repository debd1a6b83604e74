// Writing a trained model folder beside its base: the base's companion files (config, tokenizer,
// processor, generation settings) copied, the merged weights under the checkpoint's own names.

import Foundation
import MLXNN
import OCRModels
import OCRSupport

enum TrainedModelFolder {
    /// Merges `module`'s adapters (and dequantizes a QLoRA base), then writes `folder` atomically:
    /// the files of `base` named in `companions` that exist, and model.safetensors.
    static func write(_ module: Module, to folder: URL, base: URL, companions: [String]) throws {
        try module.mergeForExport()
        try AtomicDirectory.write(to: folder.path) { temporary in
            let out = URL(fileURLWithPath: temporary)
            for name in companions {
                let source = base.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                try FileManager.default.copyItem(at: source, to: out.appendingPathComponent(name))
            }
            try module.saveParameters(to: out.appendingPathComponent(ModelFolder.weightsFile).path, metadata: ["format": "pt"])
        }
    }
}
