// `data build --detect DET --model REC`: pages → a listing of line crops with draft labels
// (OCRModels' PageLineExport), which `data build` then imports.

import Foundation
import OCRModels

extension DataBuildCommand {
    /// A temporary listing folder (images/, metadata.jsonl) of every detected line of the INPUT pages.
    func draftLines(detector: String, recognizer: String) throws -> URL {
        let reader: PageReader
        do {
            reader = PageReader(
                detector: try PPOCRTextDetector(folder: URL(fileURLWithPath: detector)),
                recognizer: try PPOCRTextRecognizer(folder: URL(fileURLWithPath: recognizer)))
        } catch {
            throw CLIError("data build: cannot load the page models: \(error)")
        }
        let pages = try PageLineExport.pageFiles(inputs.map { URL(fileURLWithPath: $0) })
        guard !pages.isEmpty else { throw CLIError("data build --detect: no page images in \(inputs.joined(separator: ", "))") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtune-pages-\(UUID().uuidString)")
        let count = try PageLineExport.write(pages: pages, reader: reader, to: folder) { done, lines in
            Terminal.line("[detect] \(done)/\(pages.count) pages, \(lines) lines")
        }
        Terminal.line("detected \(count) lines on \(pages.count) pages; their readings are draft labels")
        return folder
    }
}
