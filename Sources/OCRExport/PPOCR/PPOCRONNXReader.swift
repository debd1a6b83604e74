// A PP-OCR ONNX export read through onnxruntime the way RapidOCR reads it: the dictionary from
// the model's `character` entry with the space appended and the blank first, PaddleOCR's
// preprocessing (ocrtune's, byte-identical), greedy CTC decoding of the softmax output;
// right-to-left text put back in logical order as ocrtune does.

import Foundation
import MLXEngine
import OCRImaging
import OCRModels

final class PPOCRONNXReader: ExportRuntimeReader {
    let session: ONNXRuntimeSession
    let dictionary: CharacterDictionary
    let preprocessor: PPOCRPreprocessor
    let runtime: String
    var preferredBatchSize: Int { RecognitionOptions().batchSize }
    var name: String { "onnxruntime:\(URL(fileURLWithPath: session.path).lastPathComponent)" }

    init(path: String, preprocessor: PPOCRPreprocessor, threads: Int = 0) throws {
        session = try ONNXRuntimeSession(path: path, threads: threads)
        guard let characters = try session.metadata("character") else {
            throw ExportError("\(path) embeds no dictionary (metadata 'character')")
        }
        dictionary = CharacterDictionary(paddleCharacters: characters.components(separatedBy: "\n"), useSpaceChar: true)
        self.preprocessor = preprocessor
        runtime = "onnxruntime \(ONNXRuntimeSession.version ?? "?")"
    }

    /// Class probabilities [N, T, classes] of a preprocessed NHWC batch.
    func probabilities(_ pixels: MLXArray) throws -> MLXArray {
        let input = ONNXTensor(pixels.transposed(0, 3, 1, 2))
        let out = try session.run(["x": input], outputs: [session.outputNames[0]])
        return out[session.outputNames[0]]!.array
    }

    func read(_ images: [RGBImage]) throws -> [Reading] {
        guard !images.isEmpty else { return [] }
        let width = min(preprocessor.batchWidth(for: images), RecognitionOptions().maxWidth)
        let probabilities = try probabilities(preprocessor.batch(images, width: width))
        return try withEngineErrors {
            CTCDecoding.decode(probabilities: probabilities, dictionary: dictionary, decoder: .greedy)
        }.map { result in
            var text = result.text
            if VisualOrder.hasRightToLeft(text) {
                text = VisualOrder.reordered(text, rightToLeft: VisualOrder.isRightToLeftParagraph(visual: text))
            }
            return Reading(text: text, confidence: Double(result.confidence), tokenIDs: result.classes)
        }
    }

    func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] { try read(images).map(\.text) }

    /// Probabilities of each image alone against ocrtune's, its classes in the export's order.
    func largestDifference(on images: [RGBImage], reference: any ModelReader) throws -> (value: Double, of: String) {
        guard let reference = reference as? PPOCRTextRecognizer else {
            throw ExportError("--check: the reference is not a PP-OCR recognizer")
        }
        let exportOrder = try PaddleClassOrder(dictionary: reference.dictionary)
        var largest = 0.0
        for image in images {
            let (input, ours) = try reference.inputAndProbabilities(image)
            let theirs = try probabilities(input.expandedDimensions(axis: 0)).squeezed(axis: 0)
            let aligned = ours.take(MLXArray(exportOrder.order.map { Int32($0) }), axis: -1)
            largest = max(largest, Double(abs(aligned - theirs).max().item(Float.self)))
        }
        return (largest, "probabilities")
    }
}
