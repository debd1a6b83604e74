// `data build --detect DET --model REC`: pages → a listing of line crops with draft labels
// (OCRModels' PageLineExport), which `data build` then imports.

import Foundation
import OCRModels

extension DataBuildCommand {
    /// A temporary listing folder (images/, metadata.jsonl) of every detected line of the INPUT pages.
    func draftLines(detector: String, recognizer: String) throws -> URL {
        let reader = try PageModels.reader(
            recognizer: try ModelPath.modelFolder(recognizer, option: "--model"), detector: detector, doing: "data build --detect")
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
