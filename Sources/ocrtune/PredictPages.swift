// `ocrtune predict --detector DET`: whole pages through OCRModels' PageReader.

import Foundation
import OCRImaging
import OCRModels

extension PredictCommand {
    /// One line per text line: "<image>\t<line>\t<text>", or JSON lines {image, line, box, text,
    /// confidence, detection_score, rotated}; annotated PNGs with --annotate.
    func runPages(folder: URL, options reading: ReadingOptions, detector path: String) throws {
        let recognizer: PPOCRTextRecognizer
        let textDetector: PPOCRTextDetector
        do {
            let type = try ModelFolder.modelType(at: folder)
            guard PPOCRTextRecognizer.modelTypes.contains(type) else {
                throw CLIError("predict --detector: \(model) is a \(type) model; whole pages are read with a PP-OCR recognizer")
            }
            recognizer = try PPOCRTextRecognizer(folder: folder, useCompile: reading.compile)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.from(error, doing: "predict")
        }
        do {
            textDetector = try PPOCRTextDetector(folder: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("predict: cannot load the detector \(path): \(error)")
        }
        var pages: [RGBImage] = []
        for image in images { pages.append(try ImagePath.load(image)) }
        var options = RecognitionOptions()
        if let batchSize = reading.batchSize { options.batchSize = batchSize }
        options.decoder = reading.beamWidth.map { CTCDecoder.beamSearch(width: $0, whitelist: reading.allowedCharacters) }
            ?? CTCDecoder(method: .greedy, whitelist: reading.allowedCharacters)
        let reader = PageReader(detector: textDetector, recognizer: recognizer)
        reader.recognition = options
        reader.options.rotate = rotate
        if let annotate { try FileManager.default.createDirectory(atPath: annotate, withIntermediateDirectories: true) }
        for (image, page) in zip(images, pages) {
            let lines = try reader.read(page)
            for (i, line) in lines.enumerated() {
                if json {
                    try printJSON([
                        "image": image, "line": i, "box": line.box.map { $0.map { Int($0) } }, "text": line.text,
                        "confidence": line.confidence, "detection_score": line.detectionScore, "rotated": line.rotated,
                    ])
                } else {
                    Terminal.line("\(image)\t\(i)\t\(line.text)")
                }
            }
            if let annotate {
                let name = ((image as NSString).lastPathComponent as NSString).deletingPathExtension + ".png"
                try annotatedPage(page, lines: lines).pngData().write(to: URL(fileURLWithPath: annotate).appendingPathComponent(name))
            }
        }
    }
}
