// TensorBoard event files, written natively: TFRecord framing (length, masked CRC32C) of
// `tensorflow.Event` protos encoded by hand (scalars and text summaries).

import Foundation

// MARK: - Writer

/// Appends events to `DIR/events.out.tfevents.<time>.<host>`, readable by `tensorboard --logdir`.
public final class TensorBoardWriter {
    public let path: String
    private let handle: FileHandle

    public convenience init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        try self.init(file: (directory as NSString).appendingPathComponent("events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host)"))
    }

    /// Appends to the event file at `file` (created when missing).
    public init(file: String) throws {
        path = file
        handle = try appendingHandle(path: file)
        var first = Proto()
        first.double(1, Date().timeIntervalSince1970)
        first.string(3, "brain.Event:2")
        try write(first.bytes)
    }

    deinit { try? handle.close() }

    /// A scalar (loss, learning rate, CER, …) at `step`. Throws when the file cannot grow (full disk).
    public func scalar(_ tag: String, _ value: Double, step: Int) throws {
        var v = Proto()
        v.string(1, tag)
        v.float(2, Float(value))
        try event(step: step, value: v)
    }

    /// A text summary (shown in TensorBoard's Text tab), e.g. sample predictions as Markdown.
    public func text(_ tag: String, _ markdown: String, step: Int) throws {
        var pluginData = Proto()
        pluginData.string(1, "text")
        var metadata = Proto()
        metadata.message(1, pluginData)
        var tensor = Proto()
        tensor.varint(1, 7)  // DT_STRING
        tensor.message(2, Proto())  // scalar shape
        tensor.bytes(8, Array(markdown.utf8))
        var v = Proto()
        v.string(1, tag)
        v.message(9, metadata)
        v.message(8, tensor)
        try event(step: step, value: v)
    }

    public func flush() { try? handle.synchronize() }

    private func event(step: Int, value: Proto) throws {
        var summary = Proto()
        summary.message(1, value)
        var e = Proto()
        e.double(1, Date().timeIntervalSince1970)
        e.varint(2, UInt64(bitPattern: Int64(step)))
        e.message(5, summary)
        try write(e.bytes)
    }

    private func write(_ data: [UInt8]) throws {
        var record: [UInt8] = []
        let length = UInt64(data.count)
        let lengthBytes = (0 ..< 8).map { UInt8((length >> (8 * $0)) & 0xFF) }
        record += lengthBytes
        record += le32(CRC32C.masked(lengthBytes))
        record += data
        record += le32(CRC32C.masked(data))
        try writeAppending(Data(record), to: handle, path: path)
    }

    private func le32(_ v: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}

// MARK: - Protobuf encoding (the few wire types events need)

struct Proto {
    var bytes: [UInt8] = []

    mutating func key(_ field: Int, _ wire: UInt64) { putVarint(UInt64(field) << 3 | wire) }
    mutating func putVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
    mutating func varint(_ field: Int, _ v: UInt64) { key(field, 0); putVarint(v) }
    mutating func double(_ field: Int, _ v: Double) {
        key(field, 1)
        bytes += (0 ..< 8).map { UInt8((v.bitPattern >> (8 * $0)) & 0xFF) }
    }
    mutating func float(_ field: Int, _ v: Float) {
        key(field, 5)
        bytes += (0 ..< 4).map { UInt8((v.bitPattern >> (8 * $0)) & 0xFF) }
    }
    mutating func bytes(_ field: Int, _ b: [UInt8]) {
        key(field, 2)
        putVarint(UInt64(b.count))
        bytes += b
    }
    mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }
    mutating func message(_ field: Int, _ m: Proto) { bytes(field, m.bytes) }
}

// MARK: - CRC32C

/// CRC-32C (Castagnoli), and TFRecord's masked form.
public enum CRC32C {
    static let table: [UInt32] = (0 ..< 256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    public static func masked<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

// MARK: - metrics.jsonl

/// Appends one JSON object per line (`RUN/metrics.jsonl`).
public final class MetricsLog {
    public let path: String
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        handle = try appendingHandle(path: path)
    }

    deinit { try? handle.close() }

    /// Removes the entries of steps after `step` (a resumed run logs them again), keeping the rest
    /// as written. Lines that are not a JSON object with a `step` stay.
    public static func dropEntries(after step: Int, path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        var kept = Data()
        var dropped = false
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let entryStep = object["step"] as? Int, entryStep > step
            {
                dropped = true
                continue
            }
            kept.append(contentsOf: line)
            kept.append(0x0A)
        }
        guard dropped else { return }
        do {
            try kept.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TrainingError("\(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Throws when the line cannot be written (full disk).
    public func append(_ object: [String: Any]) throws {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        try writeAppending(data + Data([0x0A]), to: handle, path: path)
    }
}

// MARK: - Appending

/// A handle positioned at the end of `path` (created when missing).
private func appendingHandle(path: String) throws -> FileHandle {
    if !FileManager.default.fileExists(atPath: path), !FileManager.default.createFile(atPath: path, contents: nil) {
        throw TrainingError("\(path): cannot create the file")
    }
    guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError("cannot write \(path)") }
    do {
        try handle.seekToEnd()
    } catch {
        throw TrainingError("\(path): cannot write: \(error.localizedDescription)")
    }
    return handle
}

/// `FileHandle.write(_:)` traps on a failed write (a full disk crashed the run); this throws a
/// `TrainingError` naming the file instead.
func writeAppending(_ data: Data, to handle: FileHandle, path: String) throws {
    do {
        try handle.write(contentsOf: data)
    } catch {
        let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription ?? error.localizedDescription
        throw TrainingError("\(path): cannot write: \(reason)")
    }
}
