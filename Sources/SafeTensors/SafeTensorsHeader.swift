// SafeTensorsHeader.swift — parsing and strict validation of the safetensors header.
//
// Layout: an 8-byte little-endian UInt64 `N`, then `N` bytes of UTF-8 JSON
// (possibly padded with trailing spaces), then the data section. The JSON is
// an object mapping tensor names to
// `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}`, where the
// offsets are relative to the start of the data section, plus an optional
// `"__metadata__"` object of string → string.

import Foundation

// MARK: - Entry

/// One tensor described by a safetensors header.
public struct SafeTensorsEntry: Sendable, Equatable, Hashable {
    /// The tensor name (the JSON key).
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The dimensions; empty for a scalar.
    public let shape: [Int]
    /// The `data_offsets` as written in the header: relative to the start of the data section.
    public let dataOffsets: Range<Int>
    /// The tensor's bytes as absolute offsets in the file (`dataStart + dataOffsets`).
    public let byteRange: Range<Int>

    /// Creates an entry. Values are not validated here; parsed entries are always valid.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataOffsets: Range<Int>, dataStart: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
        self.byteRange = (dataStart + dataOffsets.lowerBound)..<(dataStart + dataOffsets.upperBound)
    }

    /// The number of elements (the product of `shape`; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// The number of bytes of tensor data.
    public var byteCount: Int { byteRange.count }
}

// MARK: - Header

/// A parsed and fully validated safetensors header.
///
/// A header that parses successfully guarantees, for the file size it was
/// validated against:
/// - every entry has a known dtype, non-negative integer dims and offsets,
///   and `shape × dtype.byteSize == end − begin` (overflow-checked);
/// - every byte range lies inside the data section;
/// - the ranges, sorted by offset, are contiguous: the first starts at 0,
///   none overlaps or leaves a gap, and the last ends exactly at the end of
///   the file (like the reference implementation, gaps and trailing bytes are rejected).
public struct SafeTensorsHeader: Sendable, Equatable {
    /// The largest accepted header length, as in the reference implementation.
    public static let maxHeaderLength = 100_000_000

    /// The tensors, sorted by their position in the data section (ties by name).
    public let entries: [SafeTensorsEntry]
    /// The `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    /// Absolute file offset where the data section starts (`8 + header length`).
    public let dataStart: Int
    /// The total file size the header was validated against.
    public let fileSize: Int

    private let indexByName: [String: Int]

    /// The entry called `name`, if any.
    public func entry(named name: String) -> SafeTensorsEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The tensor names in offset order.
    public var names: [String] { entries.map(\.name) }

    init(entries: [SafeTensorsEntry], metadata: [String: String], dataStart: Int, fileSize: Int) {
        self.entries = entries
        self.metadata = metadata
        self.dataStart = dataStart
        self.fileSize = fileSize
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() { index[entry.name] = i }
        self.indexByName = index
    }
}

// MARK: - Parsing entry points

extension SafeTensorsHeader {
    /// Parses and validates the header of a complete in-memory safetensors file.
    ///
    /// - Parameters:
    ///   - fileBytes: the whole file.
    ///   - file: a path or label used in error messages.
    public static func parse(fileBytes: UnsafeRawBufferPointer, file: String) throws -> SafeTensorsHeader {
        let headerLength = try validatedHeaderLength(prefix: fileBytes, fileSize: fileBytes.count, file: file)
        let json = UnsafeRawBufferPointer(rebasing: fileBytes[8..<(8 + headerLength)])
        return try parse(headerJSON: json, fileSize: fileBytes.count, file: file)
    }

    /// Parses and validates the header of a complete in-memory safetensors file
    /// (`[UInt8]`, `Data`, …).
    public static func parse<Bytes: ContiguousBytes>(fileBytes: Bytes, file: String) throws -> SafeTensorsHeader {
        try fileBytes.withUnsafeBytes { try parse(fileBytes: $0, file: file) }
    }

    /// Parses and validates the JSON part of a header.
    ///
    /// - Parameters:
    ///   - headerJSON: exactly the `N` header bytes that follow the 8-byte length prefix.
    ///   - fileSize: the size of the whole file, used to validate the data offsets.
    ///   - file: a path or label used in error messages.
    public static func parse(headerJSON: UnsafeRawBufferPointer, fileSize: Int, file: String) throws -> SafeTensorsHeader {
        guard headerJSON.count <= maxHeaderLength else {
            throw SafeTensorsError(.headerTooLarge(headerJSON.count), file: file)
        }
        let dataStart = 8 + headerJSON.count
        guard fileSize >= dataStart else {
            throw SafeTensorsError(.headerBeyondFile, file: file,
                                   detail: "header needs \(dataStart) bytes, file has \(fileSize)")
        }
        let object = try decodeJSONObject(headerJSON, file: file)
        return try validate(object, dataStart: dataStart, fileSize: fileSize, file: file)
    }

    /// Reads and validates only the header of the file at `path` (the tensor
    /// data is neither read nor mapped).
    public static func read(path: String) throws -> SafeTensorsHeader {
        let handle = try PosixFile.openForReading(path)
        defer { handle.close() }
        return try handle.readHeader()
    }

    /// Decodes the 8-byte little-endian length prefix and checks it against the
    /// limit and the file size. Returns the header length `N`.
    static func validatedHeaderLength(prefix: UnsafeRawBufferPointer, fileSize: Int, file: String) throws -> Int {
        guard prefix.count >= 8, fileSize >= 8 else {
            throw SafeTensorsError(.fileTooSmall, file: file, detail: "file size \(fileSize)")
        }
        var raw: UInt64 = 0
        for i in 0..<8 { raw |= UInt64(prefix[i]) << (8 * UInt64(i)) }
        guard raw <= UInt64(maxHeaderLength) else {
            throw SafeTensorsError(.headerTooLarge(Int(clamping: raw)), file: file)
        }
        let length = Int(raw)
        guard 8 + length <= fileSize else {
            throw SafeTensorsError(.headerBeyondFile, file: file,
                                   detail: "header length \(length) + 8 > file size \(fileSize)")
        }
        return length
    }
}

// MARK: - JSON decoding

extension SafeTensorsHeader {
    private static func decodeJSONObject(_ bytes: UnsafeRawBufferPointer, file: String) throws -> [String: Any] {
        guard isValidUTF8(bytes) else { throw SafeTensorsError(.headerNotUTF8, file: file) }
        // Require an object ('{' after optional JSON whitespace) and no NUL bytes.
        // This keeps JSONSerialization's encoding auto-detection (UTF-16/32) out
        // of the picture; NUL can never appear in valid UTF-8 JSON text anyway.
        let firstSignificant = bytes.first { !jsonWhitespace.contains($0) }
        guard firstSignificant == UInt8(ascii: "{") else {
            throw SafeTensorsError(.invalidJSON("header must be a JSON object starting with '{'"), file: file)
        }
        guard !bytes.contains(0) else {
            throw SafeTensorsError(.invalidJSON("header contains a NUL byte"), file: file)
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            let reason = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String)
                ?? String(describing: error)
            throw SafeTensorsError(.invalidJSON(reason), file: file)
        }
        guard let object = parsed as? [String: Any] else {
            throw SafeTensorsError(.invalidJSON("top-level value is not an object"), file: file)
        }
        return object
    }

    private static let jsonWhitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

    private static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// A JSON number that is an exact, non-negative integer representable as
    /// `Int`. Booleans, floats (even `3.0`), huge numbers and negatives give `nil`.
    static func nonNegativeInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, !(number is NSDecimalNumber) else { return nil }
        switch String(cString: number.objCType) {
        case "s", "i", "l", "q":
            let v = number.int64Value
            return v >= 0 ? Int(exactly: v) : nil
        case "S", "I", "L", "Q":
            return Int(exactly: number.uint64Value)
        default:
            return nil  // "c"/"B" (bool), "f"/"d" (floating point), anything else
        }
    }
}

// MARK: - Validation

extension SafeTensorsHeader {
    private static let metadataKey = "__metadata__"

    private static func validate(_ object: [String: Any], dataStart: Int, fileSize: Int, file: String) throws -> SafeTensorsHeader {
        let dataSize = fileSize - dataStart
        var metadata: [String: String] = [:]
        var entries: [SafeTensorsEntry] = []
        entries.reserveCapacity(object.count)

        // Visit names in a fixed (UTF-8 byte) order so the first reported error is deterministic.
        let names = object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            let value = object[name]!
            if name == metadataKey {
                metadata = try parseMetadata(value, file: file)
            } else {
                entries.append(try parseEntry(name: name, value: value, dataSize: dataSize,
                                              dataStart: dataStart, file: file))
            }
        }

        entries.sort { a, b in
            if a.dataOffsets.lowerBound != b.dataOffsets.lowerBound {
                return a.dataOffsets.lowerBound < b.dataOffsets.lowerBound
            }
            if a.dataOffsets.upperBound != b.dataOffsets.upperBound {
                return a.dataOffsets.upperBound < b.dataOffsets.upperBound
            }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }

        var cursor = 0
        var previous: String?
        for entry in entries {
            let begin = entry.dataOffsets.lowerBound
            if begin < cursor {
                throw SafeTensorsError(.offsetsOverlap, file: file, tensor: entry.name,
                                       detail: "starts at \(begin), inside '\(previous ?? "")' which ends at \(cursor)")
            }
            if begin > cursor {
                let after = previous.map { "after '\($0)' which ends at \(cursor)" } ?? "the first tensor must start at 0"
                throw SafeTensorsError(.offsetsNotContiguous, file: file, tensor: entry.name,
                                       detail: "starts at \(begin); \(after)")
            }
            cursor = entry.dataOffsets.upperBound
            previous = entry.name
        }
        if cursor != dataSize {
            throw SafeTensorsError(.trailingData(dataSize - cursor), file: file,
                                   detail: "tensors end at data offset \(cursor), data section is \(dataSize) bytes")
        }
        return SafeTensorsHeader(entries: entries, metadata: metadata, dataStart: dataStart, fileSize: fileSize)
    }

    private static func parseMetadata(_ value: Any, file: String) throws -> [String: String] {
        if value is NSNull { return [:] }
        guard let dict = value as? [String: Any] else {
            throw SafeTensorsError(.invalidHeaderEntry("__metadata__ is not an object"), file: file)
        }
        var metadata: [String: String] = [:]
        for (key, item) in dict {
            guard let string = item as? String else {
                throw SafeTensorsError(.invalidHeaderEntry("__metadata__ value for key '\(key)' is not a string"),
                                       file: file)
            }
            metadata[key] = string
        }
        return metadata
    }

    private static func parseEntry(name: String, value: Any, dataSize: Int, dataStart: Int,
                                   file: String) throws -> SafeTensorsEntry {
        func bad(_ reason: String) -> SafeTensorsError {
            SafeTensorsError(.invalidHeaderEntry(reason), file: file, tensor: name)
        }
        guard let fields = value as? [String: Any] else { throw bad("entry is not an object") }

        guard let dtypeValue = fields["dtype"] else { throw bad("missing \"dtype\"") }
        guard let dtypeString = dtypeValue as? String else { throw bad("\"dtype\" is not a string") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeString) else {
            throw SafeTensorsError(.unknownDType(dtypeString), file: file, tensor: name)
        }

        guard let shapeValue = fields["shape"] else { throw bad("missing \"shape\"") }
        guard let shapeArray = shapeValue as? [Any] else { throw bad("\"shape\" is not an array") }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for (i, dim) in shapeArray.enumerated() {
            guard let d = nonNegativeInt(dim) else { throw bad("shape[\(i)] is not a non-negative integer") }
            shape.append(d)
        }

        guard let offsetsValue = fields["data_offsets"] else { throw bad("missing \"data_offsets\"") }
        guard let offsetsArray = offsetsValue as? [Any], offsetsArray.count == 2 else {
            throw bad("\"data_offsets\" is not an array of two integers")
        }
        guard let begin = nonNegativeInt(offsetsArray[0]), let end = nonNegativeInt(offsetsArray[1]) else {
            throw bad("\"data_offsets\" values are not non-negative integers")
        }
        guard begin <= end else {
            throw SafeTensorsError(.offsetsOutOfOrder, file: file, tensor: name, detail: "[\(begin), \(end)]")
        }

        guard let expected = dtype.byteCount(forShape: shape) else {
            throw SafeTensorsError(.shapeOverflow, file: file, tensor: name,
                                   detail: "shape \(shape) × \(dtype.byteSize) bytes")
        }
        guard expected == end - begin else {
            throw SafeTensorsError(.sizeMismatch(expected: expected, actual: end - begin), file: file, tensor: name,
                                   detail: "shape \(shape), dtype \(dtype.rawValue), data_offsets [\(begin), \(end)]")
        }
        guard end <= dataSize else {
            throw SafeTensorsError(.offsetsBeyondFile, file: file, tensor: name,
                                   detail: "data_offsets [\(begin), \(end)] but the data section is \(dataSize) bytes")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end, dataStart: dataStart)
    }
}
