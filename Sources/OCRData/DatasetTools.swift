// Tools over a built dataset: export back to simple formats, an HTML contact sheet, and
// character coverage against a model's vocabulary.

import Foundation
import OCRSupport
import OCRImaging

// MARK: - Character coverage

/// What a model can write. A CTC recognizer answers from its character dictionary, a
/// tokenizer-based model from whether the character survives encode → decode. Model families
/// conform their vocabularies to this so `data stats --against MODEL` can list what they cannot emit.
public protocol CharacterCoverage {
    func canEmit(_ character: Character) -> Bool
}

/// Coverage from an explicit character set (e.g. a PaddleOCR `ppocr_keys` dictionary file, one
/// character per line; a space is added when `includeSpace`).
public struct CharacterSetCoverage: CharacterCoverage, Sendable {
    public let characters: Set<Character>

    public init(characters: Set<Character>) { self.characters = characters }

    public init(dictionaryFile url: URL, includeSpace: Bool = true) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw DataError("\(url.path): cannot read dictionary") }
        var set = Set(text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { $0.count == 1 ? $0.first : nil })
        if includeSpace { set.insert(" ") }
        characters = set
    }

    public func canEmit(_ character: Character) -> Bool { characters.contains(character) }
}

/// Characters of the dataset's charset (with counts) that `coverage` cannot emit, most frequent first.
public func uncoveredCharacters(charset: [String: Int], coverage: CharacterCoverage) -> [(character: String, count: Int)] {
    charset.filter { key, _ in key.count != 1 || !coverage.canEmit(key.first!) }
        .map { (character: $0.key, count: $0.value) }
        .sorted { $0.count != $1.count ? $0.count > $1.count : $0.character < $1.character }
}

// MARK: - Export

/// Simple formats `data export` writes.
public enum ExportFormat: String, Codable, Sendable, CaseIterable {
    /// `listing.txt` (`images/NAME<TAB>text`, `\n` in texts escaped as `\\n`) + `images/`.
    case listing
    /// `data.jsonl` (`{"image": "images/NAME", "text", "split", ...metadata}`) + `images/`.
    case jsonl
    /// `images/NAME` with `NAME.gt.txt` sidecars beside each image.
    case folder
}

/// Writes every split of `dataset` to `output` in `format`, keeping the original image bytes.
/// Image names are `SPLIT-NNNNNN.EXT` (EXT from the sniffed format). Returns the sample count.
@discardableResult
public func exportDataset(_ dataset: DatasetReader, format: ExportFormat, to output: URL,
                          progress: (Int) -> Void = { _ in }) throws -> Int {
    let fm = FileManager.default
    let images = output.appendingPathComponent("images")
    try fm.createDirectory(at: images, withIntermediateDirectories: true)
    var lines = Data()
    var n = 0
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    for split in Split.allCases {
        var index = 0
        try dataset.forEachSample(in: split) { sample in
            let ext = imageExtension(sample.imageBytes)
            let name = String(format: "%@-%06d.%@", split.rawValue, index, ext)
            index += 1
            try sample.imageBytes.write(to: images.appendingPathComponent(name))
            switch format {
            case .listing:
                let text = sample.text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
                lines.append(Data("images/\(name)\t\(text)\n".utf8))
            case .jsonl:
                var object = sample.metadata
                object["image"] = "images/\(name)"
                object["text"] = sample.text
                object["split"] = split.rawValue
                lines.append(try encoder.encode(object))
                lines.append(0x0A)
            case .folder:
                let stem = (name as NSString).deletingPathExtension
                try Data(sample.text.utf8).write(to: images.appendingPathComponent("\(stem).gt.txt"))
            }
            n += 1
            progress(n)
        }
    }
    switch format {
    case .listing: try lines.write(to: output.appendingPathComponent("listing.txt"))
    case .jsonl: try lines.write(to: output.appendingPathComponent("data.jsonl"))
    case .folder: break
    }
    return n
}

func imageExtension(_ bytes: Data) -> String {
    switch ImageFormat.sniff(bytes) {
    case .jpeg?: return "jpg"
    case .tiff?: return "tif"
    case let f?: return f.rawValue
    case nil: return "bin"
    }
}

// MARK: - Preview

/// An HTML contact sheet of `count` samples drawn with SplitMix64(seed) from one split (or all),
/// images inlined as data: URIs, texts HTML-escaped. TIFF images (which browsers do not show) are
/// listed with their text only.
public func previewHTML(_ dataset: DatasetReader, split: Split?, count: Int, seed: UInt64) throws -> String {
    var all: [(Split, Int)] = []
    for s in Split.allCases where split == nil || split == s { all += (0..<dataset.count(s)).map { (s, $0) } }
    var rng = SplitMix64(seed: seed)
    rng.shuffle(&all)
    let chosen = Set(all.prefix(count).map { "\($0.0.rawValue):\($0.1)" })
    var cells: [String] = []
    for s in Split.allCases where split == nil || split == s {
        var i = 0
        try dataset.forEachSample(in: s) { sample in
            defer { i += 1 }
            guard chosen.contains("\(s.rawValue):\(i)") else { return }
            let format = ImageFormat.sniff(sample.imageBytes)?.rawValue ?? "octet-stream"
            let img = format == "tiff" ? "<div class=\"noimg\">TIFF</div>"
                : "<img src=\"data:image/\(format);base64,\(sample.imageBytes.base64EncodedString())\">"
            cells.append("<figure>\(img)<figcaption><span class=\"split\">\(s.rawValue) #\(i)</span> \(escapeHTML(sample.text))</figcaption></figure>")
        }
    }
    return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>ocrtune dataset preview</title>
        <style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:.5em;padding:.5em;border:1px solid #ccc;vertical-align:top;max-width:45%}
        img{max-width:100%;image-rendering:pixelated}figcaption{white-space:pre-wrap;font-size:1.1em}.split{color:#888;font-size:.8em}</style></head>
        <body><h1>\(cells.count) samples</h1>
        \(cells.joined(separator: "\n"))
        </body></html>

        """
}

func escapeHTML(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
