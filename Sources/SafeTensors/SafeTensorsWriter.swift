// SafeTensorsWriter.swift — serializing tensors to the safetensors format.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Tensor

/// A tensor to be written: name, element type, shape and raw little-endian bytes.
public struct SafeTensorsTensor: Sendable, Equatable {
    /// The tensor name (any non-empty string except `"__metadata__"`).
    public var name: String
    /// The element type.
    public var dtype: SafeTensorsDType
    /// The dimensions; empty for a scalar.
    public var shape: [Int]
    /// The raw little-endian bytes; must be exactly `shape × dtype.byteSize` long.
    /// To avoid copying large buffers, wrap them with `Data(bytesNoCopy:count:deallocator:)`.
    public var data: Data

    /// Creates a tensor from `Data`.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], data: Data) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Creates a tensor from a byte array.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        self.init(name: name, dtype: dtype, shape: shape, data: Data(bytes))
    }

    /// Creates a tensor by copying the bytes of `scalars` (host byte order, which
    /// must be little-endian). The element size is checked when writing.
    public init<T: BitwiseCopyable>(name: String, dtype: SafeTensorsDType, shape: [Int], scalars: [T]) {
        let data = scalars.withUnsafeBytes { Data($0) }
        self.init(name: name, dtype: dtype, shape: shape, data: data)
    }
}

// MARK: - Writer

/// Writes safetensors files.
///
/// Layout decisions (compatible with the reference implementation):
/// - tensors are stored contiguously, ordered by element size (largest first)
///   and then by name (UTF-8 byte order), so that every tensor is naturally
///   aligned relative to the 8-byte-aligned data section;
/// - `__metadata__` (if non-empty) comes first in the JSON, then the tensors in
///   data order; keys are written deterministically;
/// - the header is padded with spaces to a multiple of 8 bytes.
///
/// Files are written atomically: to a temporary file in the destination folder,
/// flushed with `fsync`, then renamed over `path`.
public enum SafeTensorsWriter {
    /// Serializes `tensors` and `metadata` and atomically writes them to `path`.
    ///
    /// - Throws: ``SafeTensorsError`` (file = `path`) for invalid input
    ///   (duplicate/empty/reserved names, negative dims, size mismatches,
    ///   overflow) or I/O failures. Nothing is left behind at `path` or in a
    ///   temporary file on failure.
    public static func write(_ tensors: [SafeTensorsTensor], metadata: [String: String] = [:], to path: String) throws {
        let plan = try Plan(tensors, metadata: metadata, file: path)
        try writeAtomically(to: path) { sink in
            try plan.header.withUnsafeBytes { try sink($0) }
            for tensor in plan.ordered {
                try tensor.data.withUnsafeBytes { try sink($0) }
            }
        }
    }

    /// Serializes `tensors` and `metadata` into an in-memory safetensors file.
    ///
    /// - Parameter label: the name used in error messages.
    public static func serialize(_ tensors: [SafeTensorsTensor], metadata: [String: String] = [:],
                                 label: String = "<memory>") throws -> [UInt8] {
        let plan = try Plan(tensors, metadata: metadata, file: label)
        var out = plan.header
        out.reserveCapacity(plan.header.count + plan.dataSize)
        for tensor in plan.ordered { out.append(contentsOf: tensor.data) }
        return out
    }

    /// The complete header (length prefix + padded JSON) that `serialize` would
    /// produce for these tensors, without the data section.
    public static func encodeHeader(_ tensors: [SafeTensorsTensor], metadata: [String: String] = [:],
                                    label: String = "<memory>") throws -> [UInt8] {
        try Plan(tensors, metadata: metadata, file: label).header
    }
}

// MARK: - Layout plan

extension SafeTensorsWriter {
    /// Validated tensors in data order, with the encoded header.
    struct Plan {
        let ordered: [SafeTensorsTensor]
        let header: [UInt8]
        let dataSize: Int

        init(_ tensors: [SafeTensorsTensor], metadata: [String: String], file: String) throws {
            var seen = Set<String>()
            for tensor in tensors {
                let name = tensor.name
                if name.isEmpty {
                    throw SafeTensorsError(.invalidHeaderEntry("tensor name is empty"), file: file, tensor: name)
                }
                if name == "__metadata__" {
                    throw SafeTensorsError(.invalidHeaderEntry("'__metadata__' is reserved"), file: file, tensor: name)
                }
                if !seen.insert(name).inserted {
                    throw SafeTensorsError(.duplicateTensor, file: file, tensor: name)
                }
                if let i = tensor.shape.firstIndex(where: { $0 < 0 }) {
                    throw SafeTensorsError(.invalidHeaderEntry("shape[\(i)] is negative"), file: file, tensor: name)
                }
                guard let expected = tensor.dtype.byteCount(forShape: tensor.shape) else {
                    throw SafeTensorsError(.shapeOverflow, file: file, tensor: name, detail: "shape \(tensor.shape)")
                }
                guard expected == tensor.data.count else {
                    throw SafeTensorsError(.sizeMismatch(expected: expected, actual: tensor.data.count),
                                           file: file, tensor: name,
                                           detail: "shape \(tensor.shape), dtype \(tensor.dtype.rawValue)")
                }
            }

            ordered = tensors.sorted { a, b in
                if a.dtype.byteSize != b.dtype.byteSize { return a.dtype.byteSize > b.dtype.byteSize }
                return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
            }

            var json = "{"
            var first = true
            if !metadata.isEmpty {
                json += jsonString("__metadata__") + ":{"
                let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                json += keys.map { jsonString($0) + ":" + jsonString(metadata[$0]!) }.joined(separator: ",")
                json += "}"
                first = false
            }
            var offset = 0
            for tensor in ordered {
                let (end, overflow) = offset.addingReportingOverflow(tensor.data.count)
                if overflow { throw SafeTensorsError(.shapeOverflow, file: file, tensor: tensor.name) }
                if !first { json += "," }
                first = false
                json += jsonString(tensor.name)
                json += ":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":["
                json += tensor.shape.map(String.init).joined(separator: ",")
                json += "],\"data_offsets\":[\(offset),\(end)]}"
                offset = end
            }
            json += "}"
            dataSize = offset

            var headerJSON = Array(json.utf8)
            let padding = (8 - headerJSON.count % 8) % 8
            headerJSON.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
            guard headerJSON.count <= SafeTensorsHeader.maxHeaderLength else {
                throw SafeTensorsError(.headerTooLarge(headerJSON.count), file: file)
            }
            var prefix = [UInt8](repeating: 0, count: 8)
            let length = UInt64(headerJSON.count)
            for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))) }
            header = prefix + headerJSON
        }
    }

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

// MARK: - Atomic file output

extension SafeTensorsWriter {
    /// Writes through `produce` into a temporary file next to `path`, then renames it into place.
    static func writeAtomically(to path: String,
                                _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temp = directory + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PosixFile.ioError("create temporary file '\(temp)'", path: path) }
        var isOpen = true
        var renamed = false
        defer {
            if isOpen { _ = close(fd) }
            if !renamed { _ = unlink(temp) }
        }
        try produce { bytes in
            var done = 0
            while done < bytes.count {
                let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PosixFile.ioError("write", path: path)
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw PosixFile.ioError("fsync", path: path) }
        isOpen = false
        guard close(fd) == 0 else { throw PosixFile.ioError("close", path: path) }
        guard rename(temp, path) == 0 else { throw PosixFile.ioError("rename", path: path) }
        renamed = true
        // Best effort: make the rename itself durable.
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }
}

@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
