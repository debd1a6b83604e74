// `ocrtune predict --detector DET`: whole pages through OCRModels' PageReader.

import Foundation
import OCRImaging
import OCRModels

extension PredictCommand {
    /// One line per text line: "<image>\t<line>\t<text>", or JSON lines {image, line, box, text,
    /// confidence, detection_score, rotated}; annotated PNGs with --annotate.
    func runPages(folder: URL, options reading: ReadingOptions, detector path: String) throws {
        let reader = try PageModels.reader(recognizer: folder, detector: path, options: reading, doing: "predict --detector")
        var pages: [RGBImage] = []
        for image in images { pages.append(try ImagePath.load(image)) }
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
