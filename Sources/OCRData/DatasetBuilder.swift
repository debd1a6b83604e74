// `data build`: import → validate (in parallel) → spool accepted bytes → drop duplicates and
// conflicts → split → write Parquet shards and the metadata files into a temporary folder → rename.

import Foundation
import OCRSupport
import OCRImaging

// MARK: - Options, progress, summary

/// Everything `data build` can be told. JSON keys are snake_case.
public struct BuildOptions: Codable, Sendable, Equatable {
    public var seed: UInt64 = 0
    public var split = try! SplitSpec.percentages(80, 10, 10)
    /// Metadata key whose equal values must share a split (`source_file` and `image` also work).
    public var groupBy: String?
    /// Any rejection fails the build (nothing is written).
    public var strict = false
    /// Replace an existing output folder.
    public var overwrite = false
    public var validation = ValidationOptions()
    public var importOptions = ImportOptions()
    /// Rows per Parquet row group (a reader streams one row group at a time).
    public var rowGroupRows = 256
    /// A row group is also flushed at this many bytes of image + text payload.
    public var rowGroupBytes = 32 << 20
    /// A shard holds at most this many rows and about this many bytes.
    public var shardMaxRows = 100_000
    public var shardMaxBytes = 512 << 20
    /// Leakage check: dHash distance (bits) that counts as the same image.
    public var leakageHashDistance = 0
    /// Validation threads (0 = one per core).
    public var threads = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case seed, split, groupBy = "group_by", strict, overwrite, validation, importOptions = "import"
        case rowGroupRows = "row_group_rows", rowGroupBytes = "row_group_bytes", shardMaxRows = "shard_max_rows"
        case shardMaxBytes = "shard_max_bytes", leakageHashDistance = "leakage_hash_distance", threads
    }
}

/// Progress reported to the caller's callback (the library never prints).
public struct BuildProgress: Sendable {
    public enum Phase: String, Sendable { case importing, writing, finishing }
    public var phase: Phase
    /// Records read so far (importing) or rows written so far (writing).
    public var done: Int
    /// Known total for the phase (nil while importing).
    public var total: Int?
    public var accepted: Int
    public var rejected: Int
}

/// What a finished build produced.
public struct BuildSummary: Sendable {
    public var output: URL
    public var manifest: DatasetManifest
    public var rejectedByReason: [RejectReason: Int]
}

// MARK: - Builder

/// Builds one dataset folder. Memory holds one small entry per accepted sample (no image bytes:
/// those are spooled to a file in the temporary folder), so it stays flat as inputs grow.
public final class DatasetBuilder {
    public let inputs: [URL]
    public let output: URL
    public let options: BuildOptions
    public var createdBy = "ocrtune"
    private let progress: (BuildProgress) -> Void

    /// One accepted sample, without its bytes.
    struct Entry {
        var source: SourceLocation
        var imagePath: String?
        var text: String
        var metadata: [String: String]
        var width: Int
        var height: Int
        var digest: Digest256
        var dhash: UInt64
        var offset: UInt64
        var length: Int
        var input: Int
    }

    private var entries: [Entry] = []
    private var rejections: [Rejection] = []
    private var normalizedCount = 0
    private var spool: FileHandle?
    private var spoolSize: UInt64 = 0

    public init(inputs: [URL], output: URL, options: BuildOptions = BuildOptions(), progress: @escaping (BuildProgress) -> Void = { _ in }) {
        self.inputs = inputs
        self.output = output
        self.options = options
        self.progress = progress
    }

    /// Runs the whole build. On any thrown error the temporary folder is removed and `output` is
    /// untouched.
    public func run() throws -> BuildSummary {
        let fm = FileManager.default
        AtomicDirectory.recover(output.path)  // a replaced dataset moved aside by a killed build comes back
        if fm.fileExists(atPath: output.path), !options.overwrite {
            throw DataError("\(output.path) already exists (pass --overwrite to replace it)")
        }
        let parent = output.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        // A build killed before it finished left `.NAME.partial-PID`; its process is gone.
        StaleTemporaries.remove(in: parent.path, prefix: ".\(output.lastPathComponent).partial-")
        let temp = parent.appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: temp)
        try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        do {
            let summary = try build(into: temp)
            try AtomicDirectory.install(temp.path, at: output.path)
            return summary
        } catch {
            try? spool?.close()
            try? fm.removeItem(at: temp)
            throw error
        }
    }

    // MARK: Import and validation

    private func build(into temp: URL) throws -> BuildSummary {
        let spoolURL = temp.appendingPathComponent("images.spool")
        _ = FileManager.default.createFile(atPath: spoolURL.path, contents: nil)
        spool = try FileHandle(forUpdating: spoolURL)
        var sources: [DatasetManifest.Source] = []
        let validator = RecordValidator(options: options.validation)
        let threads = options.threads > 0 ? options.threads : ProcessInfo.processInfo.activeProcessorCount
        var done = 0
        for (inputIndex, input) in inputs.enumerated() {
            let kind = InputKind.detect(input)
            var pending: [RawRecord] = []
            var records = 0, accepted = 0
            func flush() throws {
                let results = validateAll(pending, validator, threads: threads)
                for result in results {
                    switch result {
                    case .accepted(let v):
                        try spoolAccepted(v, input: inputIndex)
                        accepted += 1
                    case .rejected(let r): rejections.append(r)
                    }
                }
                done += pending.count
                pending.removeAll(keepingCapacity: true)
                progress(BuildProgress(phase: .importing, done: done, total: nil, accepted: entries.count, rejected: rejections.count))
            }
            try importRecords(from: input, kind: kind, options: options.importOptions) { item in
                records += 1
                switch item {
                case .record(let r): pending.append(r)
                case .rejected(let r): rejections.append(r); done += 1
                }
                if pending.count >= 32 * threads { try flush() }
            }
            try flush()
            sources.append(.init(path: input.path, kind: kind, records: records, accepted: accepted))
        }
        resolveDuplicates()
        for i in sources.indices { sources[i].accepted = entries.lazy.filter { $0.input == i }.count }
        if options.strict, !rejections.isEmpty {
            let first = rejections.prefix(5).map { "  \($0.source): \($0.reason.rawValue): \($0.detail)" }.joined(separator: "\n")
            throw DataError("--strict: \(rejections.count) record(s) rejected, e.g.\n\(first)")
        }
        return try write(into: temp, sources: sources)
    }

    private func validateAll(_ records: [RawRecord], _ validator: RecordValidator, threads: Int) -> [ValidationResult] {
        if records.isEmpty { return [] }
        if threads <= 1 || records.count == 1 { return records.map(validator.validate) }
        var results = [ValidationResult?](repeating: nil, count: records.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let out = buffer
            DispatchQueue.concurrentPerform(iterations: records.count) { i in
                out[i] = validator.validate(records[i])
            }
        }
        return results.map { $0! }
    }

    private func spoolAccepted(_ v: ValidatedRecord, input: Int) throws {
        try spool!.seekToEnd()
        try spool!.write(contentsOf: v.imageBytes)
        if v.normalized { normalizedCount += 1 }
        // The `source` column is filled in at write time (from `source`) unless the input had one.
        entries.append(Entry(source: v.source, imagePath: v.imagePath, text: v.text, metadata: v.metadata,
                             width: v.width, height: v.height, digest: v.digest, dhash: v.dhash,
                             offset: spoolSize, length: v.imageBytes.count, input: input))
        spoolSize += UInt64(v.imageBytes.count)
    }

    /// Same bytes + same text: later copies are `duplicate`. Same bytes + different texts: every
    /// record with those bytes is a `conflict`.
    private func resolveDuplicates() {
        // First index per digest; only digests seen twice get an index list (memory stays small).
        var first: [Digest256: Int] = [:]
        first.reserveCapacity(entries.count)
        var repeated: [Digest256: [Int]] = [:]
        for (i, e) in entries.enumerated() {
            if let f = first[e.digest] {
                repeated[e.digest, default: [f]].append(i)
            } else {
                first[e.digest] = i
            }
        }
        first = [:]
        var drop = Set<Int>()
        for indices in repeated.values.sorted(by: { $0[0] < $1[0] }) {
            let texts = Set(indices.map { entries[$0].text })
            if texts.count == 1 {
                let first = entries[indices[0]].source
                for i in indices.dropFirst() {
                    drop.insert(i)
                    rejections.append(Rejection(source: entries[i].source, reason: .duplicate,
                                                detail: "same image and text as \(first)", image: entries[i].imagePath))
                }
            } else {
                let all = indices.map { entries[$0].source.description }.joined(separator: ", ")
                for i in indices {
                    drop.insert(i)
                    rejections.append(Rejection(source: entries[i].source, reason: .conflict,
                                                detail: "same image with \(texts.count) different texts (\(all))", image: entries[i].imagePath))
                }
            }
        }
        if !drop.isEmpty {
            entries = entries.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            rejections.sort { ($0.source.file, $0.source.line ?? 0, $0.source.key ?? "") < ($1.source.file, $1.source.line ?? 0, $1.source.key ?? "") }
        }
    }

    // MARK: Writing

    private func groupKey(_ e: Entry, _ index: Int, _ key: String) -> String {
        switch key {
        case "source_file": return e.source.file
        case "image": return e.imagePath ?? "\u{0}\(index)"
        default: return e.metadata[key] ?? "\u{0}\(index)"
        }
    }

    private func write(into temp: URL, sources: [DatasetManifest.Source]) throws -> BuildSummary {
        let groupKeys = options.groupBy.map { key in entries.enumerated().map { groupKey($0.element, $0.offset, key) } }
        let assignment = try assignSplits(count: entries.count, groupKeys: groupKeys, spec: options.split, seed: options.seed)
        var metadataKeys = Set<String>()
        for e in entries { metadataKeys.formUnion(e.metadata.keys) }
        metadataKeys.subtract(["image", "text", "source"])
        let metadataColumns = ["source"] + metadataKeys.sorted()

        var shards: [DatasetManifest.Shard] = []
        var written = 0
        for split in Split.allCases {
            let indices = assignment[split] ?? []
            if indices.isEmpty { continue }
            let bytes = indices.reduce(0) { $0 + entries[$1].length }
            let shardCount = max(1, (indices.count + options.shardMaxRows - 1) / options.shardMaxRows,
                                 (bytes + options.shardMaxBytes - 1) / options.shardMaxBytes)
            let perShard = (indices.count + shardCount - 1) / shardCount
            for s in 0..<shardCount {
                let name = String(format: "%@-%05d-of-%05d.parquet", split.rawValue, s, shardCount)
                let url = temp.appendingPathComponent(name)
                let writer = try ParquetShardWriter(url: url, metadataColumns: metadataColumns,
                                                    rowGroupRows: options.rowGroupRows, rowGroupBytes: options.rowGroupBytes)
                let slice = indices[min(indices.count, s * perShard)..<min(indices.count, (s + 1) * perShard)]
                for i in slice {
                    let e = entries[i]
                    try spool!.seek(toOffset: e.offset)
                    let data = try spool!.read(upToCount: e.length) ?? Data()
                    var metadata = e.metadata
                    if metadata["source"] == nil { metadata["source"] = e.source.description }
                    try writer.append(DatasetSample(imageBytes: data, imagePath: e.imagePath, text: e.text, metadata: metadata))
                    written += 1
                    if written % 256 == 0 {
                        progress(BuildProgress(phase: .writing, done: written, total: entries.count, accepted: entries.count, rejected: rejections.count))
                    }
                }
                try writer.close()
                let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
                shards.append(.init(split: split, file: name, rows: slice.count, bytes: size, sha256: try SHA256Digest.hex(fileAt: url)))
            }
        }
        try spool?.close()
        spool = nil
        try FileManager.default.removeItem(at: temp.appendingPathComponent("images.spool"))
        progress(BuildProgress(phase: .finishing, done: written, total: entries.count, accepted: entries.count, rejected: rejections.count))

        // Rejections.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var rejectedText = Data()
        for r in rejections {
            rejectedText.append(try encoder.encode(r))
            rejectedText.append(0x0A)
        }
        try rejectedText.write(to: temp.appendingPathComponent("rejected.jsonl"))
        var byReason: [RejectReason: Int] = [:]
        for r in rejections { byReason[r.reason, default: 0] += 1 }

        // Charset and stats.
        var charset: [Unicode.Scalar: Int] = [:]
        for e in entries { for c in e.text.unicodeScalars { charset[c, default: 0] += 1 } }
        try CharsetFile.render(charset).write(to: temp.appendingPathComponent("charset.txt"), atomically: false, encoding: .utf8)
        var perSplit: [Split: [(text: String, width: Int, height: Int)]] = [:]
        for split in Split.allCases { perSplit[split] = (assignment[split] ?? []).map { (entries[$0].text, entries[$0].width, entries[$0].height) } }
        let stats = DatasetStats.compute(perSplit: perSplit, charset: charset)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try pretty.encode(stats).write(to: temp.appendingPathComponent("stats.json"))

        // Leakage (test against train).
        let train = assignment[.train] ?? [], test = assignment[.test] ?? []
        let leakage = checkLeakage(trainTexts: train.map { entries[$0].text }, trainHashes: train.map { entries[$0].dhash },
                                   testTexts: test.map { entries[$0].text }, testHashes: test.map { entries[$0].dhash },
                                   hashDistance: options.leakageHashDistance)

        var counts: [String: Int] = [:]
        for split in Split.allCases { counts[split.rawValue] = assignment[split]?.count ?? 0 }
        let manifest = DatasetManifest(
            createdBy: createdBy, sources: sources, counts: counts, rejected: rejections.count,
            rejectedByReason: Dictionary(uniqueKeysWithValues: byReason.map { ($0.key.rawValue, $0.value) }),
            charsetSize: charset.count, seed: options.seed, split: options.split, groupBy: options.groupBy,
            normalization: options.validation.normalization, normalizedCount: normalizedCount,
            validation: options.validation, columns: ["image", "text"] + metadataColumns, shards: shards, leakage: leakage)
        try pretty.encode(manifest).write(to: temp.appendingPathComponent("dataset.json"))
        try DatasetCard.render(manifest: manifest).write(to: temp.appendingPathComponent("README.md"), atomically: false, encoding: .utf8)
        return BuildSummary(output: output, manifest: manifest, rejectedByReason: byReason)
    }
}
