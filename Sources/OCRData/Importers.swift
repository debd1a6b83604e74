// Importers: every input shape the issue lists, turned into a stream of raw records (or of
// rejections for lines that cannot even be parsed). No importer decodes images.

import CArrowShim
import Foundation

// MARK: - Options and items

/// How inputs are read. JSON keys are snake_case.
public struct ImportOptions: Codable, Sendable, Equatable {
    /// JSON / Parquet field holding the image (a path in JSON; struct<bytes, path> or binary in Parquet).
    public var imageField: String = "image"
    /// JSON / Parquet field holding the text.
    public var textField: String = "text"
    /// Document form: cut one line sample per annotation box instead of keeping the page whole.
    public var cropLines: Bool = false

    public init(imageField: String = "image", textField: String = "text", cropLines: Bool = false) {
        self.imageField = imageField
        self.textField = textField
        self.cropLines = cropLines
    }

    enum CodingKeys: String, CodingKey {
        case imageField = "image_field", textField = "text_field", cropLines = "crop_lines"
    }
}

/// What an importer yields: a record to validate, or a line already rejected.
public enum ImportItem: Sendable {
    case record(RawRecord)
    case rejected(Rejection)
}

/// The kinds of input `data build` accepts.
public enum InputKind: String, Codable, Sendable {
    /// `IMAGE_PATH<whitespace>TEXT` or `path\tlabel` per line.
    case listing
    /// JSON Lines or a JSON array of objects.
    case json
    /// A folder of images with `NAME.gt.txt` / `NAME.txt` sidecars.
    case folder
    /// Hugging Face Parquet (a file, or a folder of `*.parquet`).
    case parquet
    /// LMDB in the deep-text-recognition-benchmark / PaddleOCR layout.
    case lmdb

    /// Detects the kind from the path: `data.mdb` inside → LMDB; a folder with `*.parquet` → Parquet;
    /// other folders → image folder; `.json`/`.jsonl` → JSON; `.parquet` → Parquet; else a listing.
    public static func detect(_ url: URL) -> InputKind {
        var isDir: ObjCBool = false
        let fm = FileManager.default
        if fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            if fm.fileExists(atPath: url.appendingPathComponent("data.mdb").path) { return .lmdb }
            let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            if names.contains(where: { $0.hasSuffix(".parquet") }) { return .parquet }
            return .folder
        }
        switch url.pathExtension.lowercased() {
        case "json", "jsonl", "ndjson": return .json
        case "parquet": return .parquet
        case "mdb": return .lmdb
        default: return .listing
        }
    }
}

/// Reads every record of one input, in a deterministic order.
public func importRecords(from url: URL, kind: InputKind? = nil, options: ImportOptions = ImportOptions(),
                          _ emit: (ImportItem) throws -> Void) throws {
    switch kind ?? InputKind.detect(url) {
    case .listing: try ListingImporter.read(url, emit)
    case .json: try JSONImporter.read(url, options: options, emit)
    case .folder: try FolderImporter.read(url, emit)
    case .parquet: try ParquetImporter.read(url, options: options, emit)
    case .lmdb: try LMDBImporter.read(url, emit)
    }
}

/// Image file extensions a folder import picks up.
public let imageFileExtensions: Set<String> = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"]

// MARK: - Line splitting

/// Splits file bytes into lines (LF, with a trailing CR dropped); yields 1-based numbers.
func forEachLine(_ data: Data, _ body: (Int, Data) throws -> Void) rethrows {
    var lineNumber = 0
    var start = data.startIndex
    while start < data.endIndex {
        let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
        lineNumber += 1
        var line = data[start..<end]
        if line.last == 0x0D { line = line.dropLast() }
        try body(lineNumber, Data(line))
        start = end < data.endIndex ? data.index(after: end) : end
    }
}

func readInput(_ url: URL) throws -> Data {
    guard FileManager.default.fileExists(atPath: url.path) else { throw DataError("\(url.path): no such input") }
    do { return try Data(contentsOf: url) } catch { throw DataError("\(url.path): cannot read: \(error.localizedDescription)") }
}

func resolve(_ path: String, against folder: URL) -> URL {
    path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
}

// MARK: - Listing (path<whitespace>text, path\ttext)

/// `IMAGE_PATH<whitespace>TEXT` per line. A line with a tab splits at its first tab (PaddleOCR's
/// `path\tlabel`, paths may hold spaces); otherwise at the first run of spaces. Blank lines and
/// lines starting with `#` are skipped; the text keeps its inner spaces; relative paths resolve
/// against the listing's folder.
public enum ListingImporter {
    public static func read(_ url: URL, _ emit: (ImportItem) throws -> Void) throws {
        let data = try readInput(url)
        let folder = url.deletingLastPathComponent()
        let file = url.path  // one string shared by every record's source
        try forEachLine(data) { number, bytes in
            let source = SourceLocation(file: file, line: number)
            // The path part must be UTF-8 to be found; the text part is checked by validation.
            let trimmedStart = bytes.drop { $0 == 0x20 || $0 == 0x09 }
            if trimmedStart.isEmpty || trimmedStart.first == UInt8(ascii: "#") { return }
            let splitIndex: Data.Index?
            if let tab = trimmedStart.firstIndex(of: 0x09) { splitIndex = tab } else { splitIndex = trimmedStart.firstIndex(of: 0x20) }
            let pathBytes = splitIndex.map { trimmedStart[trimmedStart.startIndex..<$0] } ?? trimmedStart[...]
            guard let path = String(data: Data(pathBytes), encoding: .utf8) else {
                try emit(.rejected(Rejection(source: source, reason: .invalidUTF8, detail: "image path is not valid UTF-8")))
                return
            }
            var textBytes = Data()
            if let splitIndex {
                textBytes = Data(trimmedStart[trimmedStart.index(after: splitIndex)...])
                if trimmedStart[splitIndex] == 0x20 { textBytes = Data(textBytes.drop { $0 == 0x20 }) }
            }
            let resolved = resolve(path, against: folder)
            if let splitIndex, trimmedStart[splitIndex] == 0x20, !FileManager.default.fileExists(atPath: resolved.path) {
                try emit(.rejected(Rejection(
                    source: source, reason: .missingFile,
                    detail: "\(resolved.path) does not exist (the line has no TAB, so its path ends at the first space; "
                        + "a path with spaces needs a TAB between path and text)")))
                return
            }
            try emit(.record(RawRecord(source: source, image: .file(resolved, name: path), text: .bytes(textBytes))))
        }
    }
}

// MARK: - JSON / JSONL (plain and annotated document form)

/// JSON Lines, or one JSON array, of objects with an image path and a text (field names from
/// `ImportOptions`); other fields are kept as metadata. The document form
/// `{"image_path", "annotations": [{"bbox": [x1,y1,x2,y2], "text", "category"}]}` becomes one
/// document sample (text = annotation texts joined by newlines, `annotations` kept as JSON), or
/// with `cropLines` one line sample per box.
public enum JSONImporter {
    public static func read(_ url: URL, options: ImportOptions, _ emit: (ImportItem) throws -> Void) throws {
        let data = try readInput(url)
        let folder = url.deletingLastPathComponent()
        let file = url.path
        let firstByte = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if firstByte == UInt8(ascii: "[") {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                try emit(.rejected(Rejection(source: SourceLocation(file: file), reason: .unreadable, detail: "not a valid JSON array")))
                return
            }
            for (i, element) in array.enumerated() {
                try object(element, source: SourceLocation(file: file, line: i + 1), folder: folder, options: options, emit)
            }
            return
        }
        try forEachLine(data) { number, bytes in
            let source = SourceLocation(file: file, line: number)
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            guard String(data: bytes, encoding: .utf8) != nil else {
                try emit(.rejected(Rejection(source: source, reason: .invalidUTF8, detail: "line is not valid UTF-8")))
                return
            }
            guard let value = try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]) else {
                try emit(.rejected(Rejection(source: source, reason: .unreadable, detail: "line is not valid JSON")))
                return
            }
            try object(value, source: source, folder: folder, options: options, emit)
        }
    }

    static func object(_ value: Any, source: SourceLocation, folder: URL, options: ImportOptions,
                       _ emit: (ImportItem) throws -> Void) throws {
        guard let dict = value as? [String: Any] else {
            try emit(.rejected(Rejection(source: source, reason: .unreadable, detail: "not a JSON object")))
            return
        }
        if let annotations = dict["annotations"] as? [Any] {
            try document(dict, annotations: annotations, source: source, folder: folder, options: options, emit)
            return
        }
        guard let path = dict[options.imageField] as? String ?? dict["image_path"] as? String else {
            try emit(.rejected(Rejection(source: source, reason: .missingFile, detail: "no \"\(options.imageField)\" path field")))
            return
        }
        let text: TextValue = (dict[options.textField] as? String).map { .string($0) } ?? .missing
        var metadata: [String: String] = [:]
        for (key, v) in dict where key != options.imageField && key != options.textField && key != "image_path" {
            metadata[key] = jsonText(v)
        }
        let image = ImageReference.file(resolve(path, against: folder), name: path)
        try emit(.record(RawRecord(source: source, image: image, text: text, metadata: metadata)))
    }

    static func document(_ dict: [String: Any], annotations: [Any], source: SourceLocation, folder: URL,
                         options: ImportOptions, _ emit: (ImportItem) throws -> Void) throws {
        guard let path = dict["image_path"] as? String ?? dict[options.imageField] as? String else {
            try emit(.rejected(Rejection(source: source, reason: .missingFile, detail: "document has no \"image_path\"")))
            return
        }
        let image = ImageReference.file(resolve(path, against: folder), name: path)
        var base: [String: String] = [:]
        for (key, v) in dict where !["image_path", options.imageField, "annotations", options.textField].contains(key) {
            base[key] = jsonText(v)
        }
        if !options.cropLines {
            let texts = annotations.compactMap { ($0 as? [String: Any])?["text"] as? String }
            var metadata = base
            metadata["annotations"] = jsonText(annotations)
            metadata["kind"] = "document"
            try emit(.record(RawRecord(source: source, image: image, text: .string(texts.joined(separator: "\n")), metadata: metadata)))
            return
        }
        for (i, element) in annotations.enumerated() {
            var lineSource = source
            lineSource.key = "annotation \(i)"
            guard let a = element as? [String: Any], let box = a["bbox"] as? [Any], box.count == 4,
                  let coords = box.map({ ($0 as? NSNumber)?.doubleValue }) as? [Double] else {
                try emit(.rejected(Rejection(source: lineSource, reason: .unreadable, detail: "annotation has no [x1,y1,x2,y2] bbox", image: path)))
                continue
            }
            var metadata = base
            metadata["kind"] = "line"
            metadata["bbox"] = jsonText(box)
            if let category = a["category"] { metadata["category"] = jsonText(category) }
            let text: TextValue = (a["text"] as? String).map { .string($0) } ?? .missing
            try emit(.record(RawRecord(source: lineSource, image: image, text: text, metadata: metadata, crop: coords)))
        }
    }

    /// A JSON value as metadata text: strings as-is, anything else serialized compactly.
    static func jsonText(_ value: Any) -> String {
        if let s = value as? String { return s }
        if value is NSNull { return "null" }
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }
}

// MARK: - Image folder with sidecars

/// Every image under the folder (recursively, sorted by path) with its ground truth in
/// `NAME.gt.txt` (preferred) or `NAME.txt` beside it (Tesseract / OCR-D convention).
public enum FolderImporter {
    public static func read(_ url: URL, _ emit: (ImportItem) throws -> Void) throws {
        let fm = FileManager.default
        guard let walker = fm.enumerator(at: url, includingPropertiesForKeys: nil) else {
            throw DataError("\(url.path): cannot list folder")
        }
        var images: [URL] = []
        for case let file as URL in walker where imageFileExtensions.contains(file.pathExtension.lowercased()) {
            images.append(file)
        }
        let base = url.standardizedFileURL.path
        let input = url.path
        for file in images.sorted(by: { $0.path < $1.path }) {
            let relative = String(file.standardizedFileURL.path.dropFirst(base.count).drop { $0 == "/" })
            let source = SourceLocation(file: input, key: relative)
            let stem = file.deletingPathExtension()
            let candidates = [stem.appendingPathExtension("gt.txt"), stem.appendingPathExtension("txt")]
            guard let sidecar = candidates.first(where: { fm.fileExists(atPath: $0.path) }) else {
                try emit(.rejected(Rejection(source: source, reason: .missingFile, detail: "no \(stem.lastPathComponent).gt.txt or .txt ground truth", image: relative)))
                continue
            }
            guard var bytes = try? Data(contentsOf: sidecar) else {
                try emit(.rejected(Rejection(source: source, reason: .unreadable, detail: "cannot read \(sidecar.lastPathComponent)", image: relative)))
                continue
            }
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
            try emit(.record(RawRecord(source: source, image: .file(file, name: relative), text: .bytes(bytes))))
        }
    }
}

// MARK: - Hugging Face Parquet

/// Parquet as `datasets.Dataset.to_parquet` writes it: the image column a struct<bytes, path> or
/// plain binary, a text column; every other column kept as metadata (as text).
public enum ParquetImporter {
    public static func read(_ url: URL, options: ImportOptions, _ emit: (ImportItem) throws -> Void) throws {
        var files = [url]
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            files = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "parquet" }.sorted { $0.path < $1.path }
        }
        for file in files {
            let reader = try ParquetFileReader(url: file)
            guard let imageColumn = reader.columnIndex(options.imageField),
                  [.image, .binary].contains(reader.columns[imageColumn].kind) else {
                throw DataError("\(file.path): no \"\(options.imageField)\" column of struct<bytes, path> or binary")
            }
            guard let textColumn = reader.columnIndex(options.textField) else {
                throw DataError("\(file.path): no \"\(options.textField)\" column")
            }
            let others = reader.columns.indices.filter { $0 != imageColumn && $0 != textColumn }
            let path = file.path
            var row = 0
            for group in 0..<reader.rowGroupCount {
                let batch = try reader.readRowGroup(group)
                for r in 0..<batch.rowCount {
                    row += 1
                    let source = SourceLocation(file: path, key: "row \(row - 1)")
                    let name = reader.columns[imageColumn].kind == .image ? try batch.imagePath(column: imageColumn, row: r) : nil
                    let image: ImageReference
                    if let bytes = try batch.bytes(column: imageColumn, row: r) {
                        image = .bytes(bytes, name: name)
                    } else if let name {
                        // `datasets` may store only a path: resolve it next to the Parquet file.
                        image = .file(resolve(name, against: file.deletingLastPathComponent()), name: name)
                    } else {
                        try emit(.rejected(Rejection(source: source, reason: .missingFile, detail: "image bytes and path are null")))
                        continue
                    }
                    let text: TextValue = try batch.bytes(column: textColumn, row: r).map { .bytes($0) } ?? .missing
                    var metadata: [String: String] = [:]
                    for c in others { if let v = try batch.text(column: c, row: r) { metadata[reader.columns[c].name] = v } }
                    try emit(.record(RawRecord(source: source, image: image, text: text, metadata: metadata)))
                }
            }
        }
    }
}

// MARK: - LMDB

/// LMDB as deep-text-recognition-benchmark and PaddleOCR write it: `num-samples`, then
/// `image-%09d` / `label-%09d` for 1 … num-samples.
public enum LMDBImporter {
    public static func read(_ url: URL, _ emit: (ImportItem) throws -> Void) throws {
        let folder = url.pathExtension == "mdb" ? url.deletingLastPathComponent() : url
        var db: carrow_lmdb?
        guard carrow_lmdb_open(&db, folder.path) == 0, let db else { throw DataError(lastArrowError()) }
        defer { carrow_lmdb_free(db) }
        func get(_ key: String) throws -> Data? {
            var data: UnsafePointer<UInt8>?
            var length = 0
            var found: Int32 = 0
            guard carrow_lmdb_get(db, key, &data, &length, &found) == 0 else { throw DataError("\(folder.path): \(lastArrowError())") }
            return found == 0 ? nil : Data(bytes: data!, count: length)
        }
        guard let countBytes = try get("num-samples"), let count = Int(String(decoding: countBytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            throw DataError("\(folder.path): no readable num-samples key")
        }
        let input = folder.path
        for i in 1...max(1, count) where count > 0 {
            let imageKey = String(format: "image-%09d", i)
            let source = SourceLocation(file: input, key: imageKey)
            guard let image = try get(imageKey) else {
                try emit(.rejected(Rejection(source: source, reason: .missingFile, detail: "key \(imageKey) is absent")))
                continue
            }
            let label = try get(String(format: "label-%09d", i))
            try emit(.record(RawRecord(source: source, image: .bytes(image, name: imageKey), text: label.map { .bytes($0) } ?? .missing)))
        }
    }
}
