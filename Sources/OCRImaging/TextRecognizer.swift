// The protocol through which every model family reads images.

import Foundation

/// Something that turns images into text: a CTC recognizer, an encoder–decoder, a
/// vision–language model, or predictions made elsewhere. Evaluation and the trainer's
/// validation talk to models only through this.
public protocol TextRecognizer: AnyObject {
    /// A short name for reports ("PP-OCRv5 mobile rec", "external:preds.jsonl").
    var name: String { get }
    /// How many images one call should get.
    var preferredBatchSize: Int { get }
    /// The text of each image; `prompt` is for generative families and ignored by others.
    func recognize(_ images: [RGBImage], prompt: String?) throws -> [String]
}
