// Unlabeled pages → line samples with draft labels (`data build --detect DET --model REC`): each
// page is read whole (PageReader), each line's upright crop is written as PNG with the recognized
// text as its draft label and the page, box and confidences as metadata — the labeling queue's
// raw material, imported by `data build` as a JSON-lines listing.

import Foundation
import OCRImaging

public enum PageLineExport {
    /// Image files of `inputs` (files as given; folders: their images, sorted by name).
    public static func pageFiles(_ inputs: [URL]) throws -> [URL] {
        let extensions: Set<String> = ["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"]
        var files: [URL] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input.path, isDirectory: &isDirectory) else {
                throw TextDetectionError("\(input.path): no such file or folder")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: input.path).sorted()
                files += names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.map { input.appendingPathComponent($0) }
            } else {
                files.append(input)
            }
        }
        return files
    }

    /// Reads every page and writes `folder/images/*.png` and `folder/metadata.jsonl` (one line per
    /// text line: path, text, page, line, box, confidence, detection_score). Returns the line count.
    @discardableResult
    public static func write(pages: [URL], reader: PageReader, to folder: URL, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        let images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var lines: [String] = []
        for (p, page) in pages.enumerated() {
            let image: RGBImage
            do { image = try ImageCodec.decode(contentsOf: page) } catch { throw TextDetectionError("\(page.path): \(error)") }
            let (boxes, crops) = try reader.detectAndCrop(image)
            let kept = crops.indices.filter { crops[$0] != nil }
            let results = try reader.recognizer.recognize(kept.map { crops[$0]! }, options: reader.recognition)
            for (j, i) in kept.enumerated() {
                let name = String(format: "%06d-%03d.png", p, i)
                try crops[i]!.pngData().write(to: images.appendingPathComponent(name))
                let record: [String: Any] = [
                    "path": "images/\(name)", "text": results[j].text, "page": page.path, "line": i,
                    "box": boxes[i].points.map { $0.map { Int($0.rounded()) } }, "confidence": Double(results[j].confidence),
                    "detection_score": boxes[i].score,
                ]
                let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
                lines.append(String(decoding: data, as: UTF8.self))
            }
            progress?(p + 1, lines.count)
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("metadata.jsonl"))
        return lines.count
    }
}
