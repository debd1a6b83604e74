// What a dataset folder holds besides its shards: dataset.json, stats.json, charset.txt and the
// README.md dataset card that Hugging Face `datasets.load_dataset(DIR)` reads.

import Foundation

// MARK: - dataset.json

/// `DIR/dataset.json`. JSON keys are snake_case.
public struct DatasetManifest: Codable, Sendable, Equatable {
    public struct Source: Codable, Sendable, Equatable {
        public var path: String
        public var kind: InputKind
        /// Records read (accepted + rejected).
        public var records: Int
        public var accepted: Int
    }

    public struct Shard: Codable, Sendable, Equatable {
        public var split: Split
        public var file: String
        public var rows: Int
        public var bytes: Int
        public var sha256: String
    }

    public var formatVersion = 1
    public var createdBy: String
    public var sources: [Source]
    /// Samples per split name ("train", "val", "test").
    public var counts: [String: Int]
    public var rejected: Int
    public var rejectedByReason: [String: Int]
    public var charsetSize: Int
    public var seed: UInt64
    public var split: SplitSpec
    public var groupBy: String?
    public var normalization: TextNormalization
    /// Texts that normalization changed.
    public var normalizedCount: Int
    public var validation: ValidationOptions
    /// Output columns in order.
    public var columns: [String]
    public var shards: [Shard]
    public var leakage: LeakageReport?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", createdBy = "created_by", sources, counts, rejected
        case rejectedByReason = "rejected_by_reason", charsetSize = "charset_size", seed, split
        case groupBy = "group_by", normalization, normalizedCount = "normalized_count", validation, columns, shards, leakage
    }

    public static func load(from folder: URL) throws -> DatasetManifest {
        let url = folder.appendingPathComponent("dataset.json")
        guard let data = try? Data(contentsOf: url) else { throw DataError("\(url.path): cannot read (not an ocrtune dataset?)") }
        do { return try JSONDecoder().decode(DatasetManifest.self, from: data) } catch {
            throw DataError("\(url.path): \(error)")
        }
    }
}

// MARK: - stats.json

/// A histogram with fixed bin edges: `counts[i]` counts values in `[edges[i], edges[i+1])`, the
/// last bin is open-ended.
public struct Histogram: Codable, Sendable, Equatable {
    public var edges: [Int]
    public var counts: [Int]
    public var min: Int
    public var max: Int
    public var mean: Double

    public init(values: [Int], edges: [Int]) {
        self.edges = edges
        var counts = [Int](repeating: 0, count: edges.count)
        for v in values {
            let bin = edges.lastIndex(where: { $0 <= v }) ?? 0
            counts[bin] += 1
        }
        self.counts = counts
        self.min = values.min() ?? 0
        self.max = values.max() ?? 0
        self.mean = values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count)
    }
}

/// Statistics of one split.
public struct SplitStats: Codable, Sendable, Equatable {
    public var count: Int
    /// Text length in Unicode scalars.
    public var textLength: Histogram
    public var width: Histogram
    public var height: Histogram

    enum CodingKeys: String, CodingKey { case count, textLength = "text_length", width, height }
}

/// `DIR/stats.json`.
public struct DatasetStats: Codable, Sendable, Equatable {
    public var splits: [String: SplitStats]
    public var charsetSize: Int
    /// Characters seen fewer than 5 times overall, rarest first.
    public var rareCharacters: [String: Int]

    enum CodingKeys: String, CodingKey { case splits, charsetSize = "charset_size", rareCharacters = "rare_characters" }

    public static let textLengthEdges = [0, 5, 10, 20, 40, 80, 160, 320, 640]
    public static let sideEdges = [0, 16, 32, 48, 64, 128, 256, 512, 1024, 2048, 4096]

    public static func compute(perSplit: [Split: [(text: String, width: Int, height: Int)]], charset: [Unicode.Scalar: Int]) -> DatasetStats {
        var splits: [String: SplitStats] = [:]
        for (split, rows) in perSplit {
            splits[split.rawValue] = SplitStats(
                count: rows.count,
                textLength: Histogram(values: rows.map { $0.text.unicodeScalars.count }, edges: textLengthEdges),
                width: Histogram(values: rows.map(\.width), edges: sideEdges),
                height: Histogram(values: rows.map(\.height), edges: sideEdges))
        }
        var rare: [String: Int] = [:]
        for (c, n) in charset where n < 5 { rare[String(c)] = n }
        return DatasetStats(splits: splits, charsetSize: charset.count, rareCharacters: rare)
    }
}

// MARK: - charset.txt

/// `charset.txt`: one line per character (Unicode scalar) `CHAR<TAB>COUNT`, most frequent first
/// (ties by code point). `\n`, `\r`, `\t` and `\` are written as `\n`, `\r`, `\t`, `\\`.
public enum CharsetFile {
    public static func render(_ counts: [Unicode.Scalar: Int]) -> String {
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
        return sorted.map { "\(escape($0.key))\t\($0.value)\n" }.joined()
    }

    public static func escape(_ c: Unicode.Scalar) -> String {
        switch c {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\\": return "\\\\"
        default: return String(c)
        }
    }

    public static func parse(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let tab = line.lastIndex(of: "\t"), let n = Int(line[line.index(after: tab)...]) else { continue }
            var c = String(line[..<tab])
            switch c {
            case "\\n": c = "\n"
            case "\\r": c = "\r"
            case "\\t": c = "\t"
            case "\\\\": c = "\\"
            default: break
            }
            out[c] = n
        }
        return out
    }
}

// MARK: - README.md dataset card

public enum DatasetCard {
    /// Hugging Face split name for a split (`val` → `validation`).
    public static func hubSplitName(_ split: Split) -> String { split == .val ? "validation" : split.rawValue }

    /// The card: YAML front matter (`configs` with one data_files pattern per non-empty split and
    /// `dataset_info.features`) that `datasets.load_dataset(DIR)` reads, then a short description.
    public static func render(manifest: DatasetManifest) -> String {
        var yaml = "---\nconfigs:\n- config_name: default\n  data_files:\n"
        for split in Split.allCases where (manifest.counts[split.rawValue] ?? 0) > 0 {
            yaml += "  - split: \(hubSplitName(split))\n    path: \(split.rawValue)-*.parquet\n"
        }
        yaml += "dataset_info:\n  features:\n  - name: image\n    dtype: image\n  - name: text\n    dtype: string\n"
        for column in manifest.columns.dropFirst(2) {
            yaml += "  - name: \(yamlString(column))\n    dtype: string\n"
        }
        yaml += "task_categories:\n- image-to-text\ntags:\n- ocr\n- ocrtune\n---\n\n"
        var body = "# OCR dataset\n\nBuilt by \(manifest.createdBy) (`ocrtune data build`).\n\n"
        body += "| split | samples |\n| --- | --- |\n"
        for split in Split.allCases { body += "| \(split.rawValue) | \(manifest.counts[split.rawValue] ?? 0) |\n" }
        body += "\n- columns: \(manifest.columns.map { "`\($0)`" }.joined(separator: ", ")) "
        body += "(`image` holds the original encoded bytes and path)\n"
        body += "- split: \(manifest.split) with seed \(manifest.seed)"
        if let g = manifest.groupBy { body += ", grouped by `\(g)`" }
        body += "\n- text normalization: \(manifest.normalization.rawValue.uppercased()); \(manifest.charsetSize) distinct characters (charset.txt)\n"
        body += "- rejected records: \(manifest.rejected) (rejected.jsonl)\n"
        body += "\n```python\nfrom datasets import load_dataset\nds = load_dataset(\"path/to/this/folder\")\n```\n"
        return yaml + body
    }

    static func yamlString(_ s: String) -> String {
        s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) ? s : "\"\(s.replacingOccurrences(of: "\"", with: "\\\""))\""
    }
}
