// The records importers produce, the reasons a record is rejected, and the samples a dataset holds.

import Foundation

// MARK: - Where a record came from

/// A record's origin: the input file and, where the format has them, a line (1-based) or key.
public struct SourceLocation: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The input file (or folder, for LMDB and image folders) as given on the command line.
    public var file: String
    /// 1-based line in a listing or JSONL file, or the array index + 1 in a JSON array.
    public var line: Int?
    /// Row (Parquet), key (LMDB) or annotation index (document crops).
    public var key: String?

    public init(file: String, line: Int? = nil, key: String? = nil) {
        self.file = file
        self.line = line
        self.key = key
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let key { s += "#\(key)" }
        return s
    }
}

// MARK: - Raw records

/// An image as an importer found it: a file to read, or bytes already in hand.
public enum ImageReference: Sendable {
    /// A file; `name` is the path as written in the input (kept as the `image.path` value).
    case file(URL, name: String)
    /// Encoded bytes (Parquet, LMDB, crops) with an optional original path.
    case bytes(Data, name: String?)
}

/// A text value as an importer found it: bytes are checked for UTF-8 by validation.
public enum TextValue: Sendable {
    case string(String)
    case bytes(Data)
    case missing
}

/// One candidate sample before validation.
public struct RawRecord: Sendable {
    public var source: SourceLocation
    public var image: ImageReference
    public var text: TextValue
    /// Extra columns kept in the output (values as text; JSON values serialized).
    public var metadata: [String: String]
    /// For `--crop-lines`: crop this box `[x1, y1, x2, y2]` (pixels) out of the decoded image.
    public var crop: [Double]?

    public init(source: SourceLocation, image: ImageReference, text: TextValue, metadata: [String: String] = [:], crop: [Double]? = nil) {
        self.source = source
        self.image = image
        self.text = text
        self.metadata = metadata
        self.crop = crop
    }
}

// MARK: - Rejections

/// Why a record is not in the dataset (the `reason` of a rejected.jsonl line).
public enum RejectReason: String, Codable, CaseIterable, Sendable {
    /// The image file does not exist (or a folder image has no ground-truth sidecar).
    case missingFile = "missing_file"
    /// A file exists but cannot be read, or a line cannot be parsed.
    case unreadable
    /// The bytes are not a decodable PNG, JPEG, WebP, BMP, TIFF or GIF image.
    case decodeError = "decode_error"
    /// A side is below the minimum (8 px by default).
    case tooSmall = "too_small"
    /// The header announces more pixels than the maximum (decompression-bomb guard); not decoded.
    case tooLarge = "too_large"
    /// The text is empty after trimming whitespace.
    case emptyText = "empty_text"
    /// The text bytes are not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The same image bytes with the same text were already accepted.
    case duplicate
    /// The same image bytes occur with different texts; every such record is rejected.
    case conflict
}

/// A rejected record: one line of `rejected.jsonl`.
public struct Rejection: Codable, Sendable, Equatable {
    public var source: SourceLocation
    public var reason: RejectReason
    public var detail: String
    /// The image path as written in the input, when there is one.
    public var image: String?

    public init(source: SourceLocation, reason: RejectReason, detail: String, image: String? = nil) {
        self.source = source
        self.reason = reason
        self.detail = detail
        self.image = image
    }
}

// MARK: - Samples

/// A sample as stored in a dataset shard.
public struct DatasetSample: Sendable, Equatable {
    /// The original encoded bytes (never re-encoded; crops are PNG).
    public var imageBytes: Data
    /// The `image.path` value (the name the input gave the image), if any.
    public var imagePath: String?
    public var text: String
    /// Metadata columns (column name → value; absent = null).
    public var metadata: [String: String]

    public init(imageBytes: Data, imagePath: String?, text: String, metadata: [String: String] = [:]) {
        self.imageBytes = imageBytes
        self.imagePath = imagePath
        self.text = text
        self.metadata = metadata
    }
}

/// The three splits, in file-name order.
public enum Split: String, Codable, CaseIterable, Sendable {
    case train, val, test

    /// A split by name; "validation" (what dataset cards call it) is val.
    public init?(name: String) {
        if name == "validation" { self = .val } else if let split = Split(rawValue: name) { self = split } else { return nil }
    }
}

/// An error that stops a dataset operation; the message names the file, line or field.
public struct DataError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
