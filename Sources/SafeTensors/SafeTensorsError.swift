// SafeTensorsError.swift — the single error type thrown by this library.

// MARK: - Error

/// An error raised while reading, validating or writing a safetensors file.
///
/// Every error records the file it concerns and, where one is involved, the
/// tensor name; both appear in ``description``, e.g.
///
///     safetensors file '/models/a.safetensors', tensor 'lm_head.weight': \
///     shape × dtype size is 64 bytes but data_offsets span 60 bytes
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The file is shorter than the 8-byte header-length prefix.
        case fileTooSmall
        /// The header length prefix exceeds ``SafeTensorsHeader/maxHeaderLength``
        /// (the value, clamped to `Int`).
        case headerTooLarge(Int)
        /// The header length prefix points past the end of the file.
        case headerBeyondFile
        /// The header bytes are not valid UTF-8.
        case headerNotUTF8
        /// The header is not a JSON object (parser message attached).
        case invalidJSON(String)
        /// A header entry is structurally wrong (missing key, wrong JSON type,
        /// negative or non-integer number, reserved or duplicate-looking name…).
        case invalidHeaderEntry(String)
        /// A tensor uses a dtype string this library does not know.
        case unknownDType(String)
        /// A tensor's `data_offsets` has `begin > end`.
        case offsetsOutOfOrder
        /// A tensor's byte range overlaps the previous tensor's (in offset order).
        case offsetsOverlap
        /// There is a gap between consecutive tensors, or the first tensor does
        /// not start at offset 0. The reference implementation rejects these too.
        case offsetsNotContiguous
        /// A tensor's byte range ends past the end of the file.
        case offsetsBeyondFile
        /// The data section has this many bytes after the last tensor. The
        /// reference implementation requires the data section to be fully used.
        case trailingData(Int)
        /// `shape × dtype.byteSize` (expected) differs from the byte count
        /// given by `data_offsets` or by the supplied buffer (actual).
        case sizeMismatch(expected: Int, actual: Int)
        /// The product of the dimensions and the element size overflows `Int`.
        case shapeOverflow
        /// Two tensors with the same name were given to the writer.
        case duplicateTensor
        /// No tensor with the requested name exists in the file.
        case tensorNotFound
        /// A typed read asked for an element type whose size differs from the
        /// tensor's dtype size.
        case elementSizeMismatch(dtype: SafeTensorsDType, elementSize: Int)
        /// An operating-system level failure (open, read, mmap, write, rename…).
        case io(String)
    }

    /// What went wrong.
    public let kind: Kind
    /// The path of the file concerned (or a caller-supplied label for in-memory data).
    public let file: String
    /// The tensor concerned, if any.
    public let tensor: String?
    /// Optional extra context (numbers involved, the other tensor of an overlap…).
    public let detail: String?

    /// Creates an error.
    public init(_ kind: Kind, file: String, tensor: String? = nil, detail: String? = nil) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.detail = detail
    }

    /// A one-line human-readable message naming the file and, where applicable, the tensor.
    public var description: String {
        var text = "safetensors file '\(file)'"
        if let tensor { text += ", tensor '\(tensor)'" }
        text += ": " + kind.message
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        return text
    }
}

// MARK: - Messages

extension SafeTensorsError.Kind {
    /// A short description of this kind of failure.
    public var message: String {
        switch self {
        case .fileTooSmall:
            return "file is smaller than the 8-byte header length prefix"
        case .headerTooLarge(let length):
            return "header length \(length) exceeds the limit of \(SafeTensorsHeader.maxHeaderLength) bytes"
        case .headerBeyondFile:
            return "header extends beyond the end of the file"
        case .headerNotUTF8:
            return "header is not valid UTF-8"
        case .invalidJSON(let reason):
            return "header is not a valid JSON object: \(reason)"
        case .invalidHeaderEntry(let reason):
            return "invalid header entry: \(reason)"
        case .unknownDType(let dtype):
            return "unknown dtype '\(dtype)'"
        case .offsetsOutOfOrder:
            return "data_offsets begin is greater than end"
        case .offsetsOverlap:
            return "tensor data overlaps another tensor"
        case .offsetsNotContiguous:
            return "tensor data is not contiguous with the previous tensor (gap in the data section)"
        case .offsetsBeyondFile:
            return "tensor data extends beyond the end of the file"
        case .trailingData(let count):
            return "\(count) unused bytes after the last tensor"
        case .sizeMismatch(let expected, let actual):
            return "shape × dtype size is \(expected) bytes but the data spans \(actual) bytes"
        case .shapeOverflow:
            return "shape × dtype size overflows"
        case .duplicateTensor:
            return "duplicate tensor name"
        case .tensorNotFound:
            return "no such tensor"
        case .elementSizeMismatch(let dtype, let elementSize):
            return "requested element size \(elementSize) does not match dtype \(dtype.rawValue) (\(dtype.byteSize) bytes)"
        case .io(let reason):
            return "I/O error: \(reason)"
        }
    }
}
