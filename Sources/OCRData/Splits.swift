// Deterministic train/val/test splits (seeded, optionally grouped) and the leakage check.

import Foundation
import OCRSupport

// MARK: - Split specification

/// How a dataset is split: percentages of the samples that add up to 100 (`80,10,10`), or sample
/// counts for val and test with train taking the rest (`val=50,test=50`). Nothing is guessed: a
/// list that does not add up to 100 is an error saying how to write counts.
public struct SplitSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable { case percentages, counts }
    public let kind: Kind
    /// Percent of the samples (percentages); ignored for counts (train takes the rest).
    public let train: Int
    public let val: Int
    public let test: Int

    /// Percentages; they must add up to 100.
    public static func percentages(_ train: Int, _ val: Int, _ test: Int) throws -> SplitSpec {
        guard [train, val, test].allSatisfy({ $0 >= 0 }) else {
            throw DataError("--split \(train),\(val),\(test): shares cannot be negative")
        }
        guard train + val + test == 100 else {
            throw DataError(
                "--split \(train),\(val),\(test): the percentages add up to \(train + val + test), not 100 "
                    + "(for sample counts write val=N,test=N; train takes the rest)")
        }
        return SplitSpec(kind: .percentages, train: train, val: val, test: test)
    }

    /// Sample counts of val and test; train takes the rest.
    public static func counts(val: Int, test: Int) -> SplitSpec {
        SplitSpec(kind: .counts, train: 0, val: max(0, val), test: max(0, test))
    }

    private init(kind: Kind, train: Int, val: Int, test: Int) {
        self.kind = kind
        self.train = train
        self.val = val
        self.test = test
    }

    /// Parses `"80,10,10"` (also with `/`, `:` or spaces, and optional `%` signs) or
    /// `"val=50,test=50"` (`validation` for val; `train=` is refused: train takes the rest).
    public init(parsing text: String) throws {
        let parts = text.split(whereSeparator: { ", /:".contains($0) }).map(String.init)
        if parts.contains(where: { $0.contains("=") }) {
            var val = 0, test = 0
            for part in parts {
                let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let n = Int(kv[1]), n >= 0 else {
                    throw DataError("--split \(text): \"\(part)\" is not NAME=COUNT (e.g. val=50,test=50)")
                }
                switch kv[0] {
                case "val", "validation": val = n
                case "test": test = n
                case "train": throw DataError("--split \(text): give val and test counts; train takes the rest")
                default: throw DataError("--split \(text): unknown split \"\(kv[0])\" (val, validation or test)")
                }
            }
            self = .counts(val: val, test: test)
            return
        }
        let values = parts.map { Int($0.replacingOccurrences(of: "%", with: "")) }
        guard values.count == 3, let v = values as? [Int] else {
            throw DataError("--split \"\(text)\": expected three percentages adding up to 100 (80,10,10) or counts (val=50,test=50)")
        }
        self = try .percentages(v[0], v[1], v[2])
    }

    public var isPercentages: Bool { kind == .percentages }
    public var description: String { kind == .percentages ? "\(train),\(val),\(test)" : "val=\(val),test=\(test)" }

    /// Target sample counts for `total` samples. Percentages round down for val and test (train
    /// takes the rest); counts must leave at least one sample for train.
    public func counts(total: Int) throws -> (train: Int, val: Int, test: Int) {
        if isPercentages {
            let v = total * val / 100
            let t = total * test / 100
            return (total - v - t, v, t)
        }
        guard val + test < total || (total == 0 && val + test == 0) else {
            throw DataError("--split \(self): val + test (\(val + test)) leave no training sample of the \(total)")
        }
        return (total - val - test, val, test)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

// MARK: - Assignment

/// Assigns each item to a split. Items are grouped by `groupKeys` (nil = each item its own
/// group); groups are ordered by key, shuffled with SplitMix64(seed), and filled in that order
/// into train, then val, then test, until each reaches its target count. Related samples
/// (same group) therefore never straddle splits. Returns, per split, item indices in shuffled order.
public func assignSplits(count: Int, groupKeys: [String]?, spec: SplitSpec, seed: UInt64) throws -> [Split: [Int]] {
    let targets = try spec.counts(total: count)
    var groups: [[Int]]
    if let groupKeys {
        var byKey: [String: [Int]] = [:]
        for (i, key) in groupKeys.enumerated() { byKey[key, default: []].append(i) }
        groups = byKey.keys.sorted().map { byKey[$0]! }
    } else {
        groups = (0..<count).map { [$0] }
    }
    var rng = SplitMix64(seed: seed)
    rng.shuffle(&groups)
    var result: [Split: [Int]] = [.train: [], .val: [], .test: []]
    // Fill test first, then val, then train, so that the small held-out splits land close to
    // their targets and train absorbs rounding (matters with groups).
    var index = 0
    for (split, target) in [(Split.test, targets.test), (.val, targets.val)] {
        while index < groups.count, result[split]!.count < target {
            result[split]!.append(contentsOf: groups[index])
            index += 1
        }
    }
    while index < groups.count {
        result[.train]!.append(contentsOf: groups[index])
        index += 1
    }
    return result
}

// MARK: - Leakage

/// Test samples that also appear in train by text or by perceptual image hash.
public struct LeakageReport: Codable, Sendable, Equatable {
    /// Test samples whose exact text occurs in train.
    public var sameText: Int
    /// Test samples whose dHash is within `hashDistance` bits of a train sample's.
    public var similarImage: Int
    public var hashDistance: Int
    /// Up to 20 examples: test sample index within the test split and the reason.
    public var examples: [String]

    enum CodingKeys: String, CodingKey {
        case sameText = "same_text", similarImage = "similar_image", hashDistance = "hash_distance", examples
    }
}

/// Compares test against train. Exact hash matches are found by lookup; with `hashDistance` > 0,
/// by a scan over train hashes (fine up to ~10⁵ × 10⁴). Hashes with fewer than 8 or more than 56
/// set bits (near-blank images, whose 9×8 thumbnails all look alike) are not compared.
public func checkLeakage(trainTexts: [String], trainHashes: [UInt64], testTexts: [String], testHashes: [UInt64],
                         hashDistance: Int = 0) -> LeakageReport {
    let texts = Set(trainTexts)
    let hashes = Set(trainHashes)
    var report = LeakageReport(sameText: 0, similarImage: 0, hashDistance: hashDistance, examples: [])
    for i in testTexts.indices {
        if texts.contains(testTexts[i]) {
            report.sameText += 1
            if report.examples.count < 20 { report.examples.append("test \(i): text \"\(testTexts[i])\" is in train") }
        }
        let h = testHashes[i]
        let informative = (8...56).contains(h.nonzeroBitCount)
        let similar = informative && (hashes.contains(h) || (hashDistance > 0 && trainHashes.contains { ($0 ^ h).nonzeroBitCount <= hashDistance }))
        if similar {
            report.similarImage += 1
            if report.examples.count < 20 { report.examples.append("test \(i): image hash \(String(h, radix: 16)) is in train") }
        }
    }
    return report
}
