// Where the CLI finds models and datasets. Model families and the dataset reader plug in here.

import Foundation
import OCREvaluation
import OCRImaging

enum ModelLoader {
    /// The recognizer for a model folder, chosen by `model_type` in its config.json.
    static func recognizer(at path: String) throws -> TextRecognizer {
        let config = (path as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: config),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw CLIError("\(config): not found or not JSON (is \(path) a model folder?)")
        }
        let type = object["model_type"] as? String ?? "?"
        throw CLIError("\(config): no model family for model_type \"\(type)\" in this build")
    }
}

enum DatasetSamples {
    /// The samples of one split of a dataset folder.
    static func load(dataset: String, split: String) throws -> [EvalSample] {
        throw CLIError("\(dataset): reading dataset folders needs the dataset module, which this build does not have yet")
    }
}
