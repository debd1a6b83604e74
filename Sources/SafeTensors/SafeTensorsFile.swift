// SafeTensorsFile.swift — validated, memory-mapped read access to a safetensors file.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - File

/// A safetensors file opened for reading.
///
/// `init(path:)` reads only the 8-byte prefix and the JSON header with
/// `pread`, validates them completely against the file size (see
/// ``SafeTensorsHeader``), and only then memory-maps the file read-only. Tensor
/// bytes are therefore never touched for an invalid file, and every range handed
/// out afterwards is known to lie inside the mapping.
///
/// The mapping lives as long as the object. As with any memory map, truncating
/// the file on disk while it is mapped makes later accesses fault (SIGBUS);
/// don't rewrite files in place while they are open (``SafeTensorsWriter``
/// replaces files atomically, which is safe).
///
/// Instances are immutable and safe to share across threads.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path (or label, for in-memory files) used in error messages.
    public let path: String
    /// The validated header.
    public let header: SafeTensorsHeader

    private let storage: FileStorage

    /// Opens, validates and memory-maps the safetensors file at `path`.
    ///
    /// - Throws: ``SafeTensorsError`` naming `path` (and the tensor, where one
    ///   is at fault) if the file cannot be read or is malformed in any way.
    public init(path: String) throws {
        let handle = try PosixFile.openForReading(path)
        defer { handle.close() }
        let header = try handle.readHeader()
        self.path = path
        self.header = header
        self.storage = try handle.map(size: header.fileSize)
    }

    /// Validates an in-memory copy of a safetensors file.
    ///
    /// - Parameters:
    ///   - bytes: the complete file contents.
    ///   - label: the name used in error messages.
    public init(bytes: [UInt8], label: String = "<memory>") throws {
        self.header = try SafeTensorsHeader.parse(fileBytes: bytes, file: label)
        self.path = label
        self.storage = .owned(bytes)
    }

    deinit {
        if case .mapped(let base, let size) = storage {
            munmap(base, size)
        }
    }

    // MARK: Lookup

    /// The tensors, sorted by their position in the data section.
    public var entries: [SafeTensorsEntry] { header.entries }
    /// The `__metadata__` map (empty if absent).
    public var metadata: [String: String] { header.metadata }
    /// The tensor names in data-section order.
    public var names: [String] { header.names }

    /// The entry called `name`, if any.
    public func entry(named name: String) -> SafeTensorsEntry? { header.entry(named: name) }

    /// The entry called `name`, or a ``SafeTensorsError/Kind/tensorNotFound`` error.
    public func requireEntry(named name: String) throws -> SafeTensorsEntry {
        guard let entry = header.entry(named: name) else {
            throw SafeTensorsError(.tensorNotFound, file: path, tensor: name)
        }
        return entry
    }

    // MARK: Raw bytes

    /// Calls `body` with the raw (little-endian) bytes of `entry`.
    ///
    /// The buffer is only valid during the call. Its base address is not
    /// guaranteed to be aligned for the element type; use `loadUnaligned`
    /// or ``scalars(of:as:)``.
    ///
    /// - Precondition: `entry` belongs to this file (it was obtained from
    ///   ``entries`` or ``entry(named:)``). Passing a foreign entry is a
    ///   programming error and traps rather than reading out of bounds.
    public func withBytes<R>(of entry: SafeTensorsEntry, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(header.entry(named: entry.name) == entry,
                     "SafeTensorsFile.withBytes: entry '\(entry.name)' does not belong to \(path)")
        return try withFileBytes { file in
            try body(UnsafeRawBufferPointer(rebasing: file[entry.byteRange]))
        }
    }

    /// Calls `body` with the raw bytes of the tensor called `name`.
    ///
    /// - Throws: ``SafeTensorsError/Kind/tensorNotFound`` if there is no such
    ///   tensor, or whatever `body` throws.
    public func withBytes<R>(named name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes(of: requireEntry(named: name), body)
    }

    /// A copy of the raw bytes of `entry`.
    public func bytes(of entry: SafeTensorsEntry) -> [UInt8] {
        withBytes(of: entry) { Array($0) }
    }

    /// A copy of the raw bytes of `entry` as `Data`.
    public func data(of entry: SafeTensorsEntry) -> Data {
        withBytes(of: entry) { Data($0) }
    }

    /// The elements of `entry` copied into an array of `T`.
    ///
    /// `T` must have the dtype's byte size (e.g. `Float` for F32, `UInt16` for
    /// F16/BF16 bit patterns, `UInt8` for BOOL). Values are taken as stored
    /// (little-endian), so this is only meaningful on little-endian hosts.
    ///
    /// - Throws: ``SafeTensorsError/Kind/elementSizeMismatch(dtype:elementSize:)``.
    public func scalars<T: BitwiseCopyable>(of entry: SafeTensorsEntry, as type: T.Type = T.self) throws -> [T] {
        guard MemoryLayout<T>.size == entry.dtype.byteSize else {
            throw SafeTensorsError(.elementSizeMismatch(dtype: entry.dtype, elementSize: MemoryLayout<T>.size),
                                   file: path, tensor: entry.name)
        }
        let count = entry.byteCount / MemoryLayout<T>.stride
        return withBytes(of: entry) { source in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
                initialized = count
            }
        }
    }

    // MARK: Private

    private func withFileBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .mapped(let base, let size):
            return try body(UnsafeRawBufferPointer(start: base, count: size))
        case .owned(let bytes):
            return try bytes.withUnsafeBytes(body)
        case .empty:
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }
}

// MARK: - Storage

/// Where a file's bytes live: a read-only private mapping, an owned copy, or nothing (empty file).
private enum FileStorage {
    case mapped(UnsafeMutableRawPointer, Int)
    case owned([UInt8])
    case empty
}

// MARK: - POSIX helpers

/// A thin wrapper over a POSIX file descriptor used for header reading and mapping.
struct PosixFile {
    let fd: Int32
    let path: String

    static func openForReading(_ path: String) throws -> PosixFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path: path) }
        return PosixFile(fd: fd, path: path)
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    /// The size of the file; throws unless it is a regular file.
    func size() throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.ioError("fstat", path: path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(.io("not a regular file"), file: path)
        }
        return Int(info.st_size)
    }

    /// Reads exactly `count` bytes at `offset`; throws if the file ends early.
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Self.ioError("read", path: path)
                }
                if n == 0 {
                    throw SafeTensorsError(.io("unexpected end of file (file changed while reading?)"), file: path)
                }
                done += n
            }
        }
        return buffer
    }

    /// Reads and validates the header without touching the data section.
    func readHeader() throws -> SafeTensorsHeader {
        let fileSize = try size()
        guard fileSize >= 8 else {
            throw SafeTensorsError(.fileTooSmall, file: path, detail: "file size \(fileSize)")
        }
        let prefix = try read(count: 8, at: 0)
        let length = try prefix.withUnsafeBytes {
            try SafeTensorsHeader.validatedHeaderLength(prefix: $0, fileSize: fileSize, file: path)
        }
        let json = try read(count: length, at: 8)
        return try json.withUnsafeBytes {
            try SafeTensorsHeader.parse(headerJSON: $0, fileSize: fileSize, file: path)
        }
    }

    /// Maps the first `size` bytes read-only (the size validated by `readHeader`).
    fileprivate func map(size: Int) throws -> FileStorage {
        guard size > 0 else { return .empty }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw Self.ioError("mmap", path: path)
        }
        return .mapped(base, size)
    }

    static func ioError(_ operation: String, path: String) -> SafeTensorsError {
        let code = errno
        return SafeTensorsError(.io("\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"), file: path)
    }
}
