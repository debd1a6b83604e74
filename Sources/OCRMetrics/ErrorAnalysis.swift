// MARK: - Report types

/// A substitution observed in the alignments: `reference` was read as `prediction`.
public struct ConfusionPair: Codable, Sendable, Equatable {
    public var reference: String
    public var prediction: String
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case reference = "ref"
        case prediction = "pred"
        case count
    }
}

/// A character unit with a count (insertions, deletions, occurrences).
public struct UnitCount: Codable, Sendable, Equatable {
    public var unit: String
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case unit = "char"
        case count
    }
}

/// CER restricted to samples whose reference length (in character units) lies
/// in `[minLength, maxLength]` (`maxLength == nil`: no upper bound).
public struct LengthBucket: Codable, Sendable, Equatable {
    public var label: String
    public var minLength: Int
    public var maxLength: Int?
    public var count: Int
    public var referenceCharacters: Int
    public var characterEdits: Int
    /// Σ edits / max(Σ reference characters, 1) over the bucket's samples.
    public var cer: Double
    /// Mean per-sample CER over the bucket's samples.
    public var cerMean: Double

    enum CodingKeys: String, CodingKey {
        case label, count, cer
        case minLength = "min_len"
        case maxLength = "max_len"
        case referenceCharacters = "ref_chars"
        case characterEdits = "char_edits"
        case cerMean = "cer_mean"
    }
}

/// Error analysis over a corpus, from one minimum-cost alignment per sample
/// (see ``EditAlignment``) of the character units used by CER.
public struct ErrorAnalysisReport: Codable, Sendable, Equatable {
    /// The `topN` most frequent substitutions (reference unit → predicted
    /// unit), most frequent first; ties in code point order.
    public var confusions: [ConfusionPair]
    /// The `topN` most frequently inserted predicted units.
    public var insertions: [UnitCount]
    /// The `topN` most frequently deleted reference units.
    public var deletions: [UnitCount]
    /// CER per reference-length bucket (only buckets with samples).
    public var cerByLength: [LengthBucket]
    /// Reference units that were never aligned to an identical predicted unit
    /// anywhere in the corpus, with their number of occurrences in the
    /// references; the `topN` most frequent.
    public var neverRecognized: [UnitCount]
    /// How many distinct reference units were never recognized.
    public var neverRecognizedCount: Int
    /// Totals over all alignments; they add up to the CER numerator.
    public var substitutionCount: Int
    public var insertionCount: Int
    public var deletionCount: Int

    enum CodingKeys: String, CodingKey {
        case confusions, insertions, deletions
        case cerByLength = "cer_by_length"
        case neverRecognized = "never_recognized"
        case neverRecognizedCount = "never_recognized_count"
        case substitutionCount = "substitutions_total"
        case insertionCount = "insertions_total"
        case deletionCount = "deletions_total"
    }
}

// MARK: - Analyzer

/// Accumulates alignments of character-unit id sequences.
public struct ErrorAnalyzer: Sendable {
    /// Default reference-length buckets: 0, 1–10, 11–20, 21–50, 51–100, 101–200, 201+.
    public static let defaultBuckets: [(Int, Int?)] = [
        (0, 0), (1, 10), (11, 20), (21, 50), (51, 100), (101, 200), (201, nil),
    ]

    public let topN: Int
    public let buckets: [(Int, Int?)]

    private struct PairKey: Hashable {
        var reference: Int
        var prediction: Int
    }

    private struct BucketTotals {
        var count = 0
        var referenceCharacters = 0
        var characterEdits = 0
        var cerSum = 0.0
    }

    private var confusions: [PairKey: Int] = [:]
    private var insertions: [Int: Int] = [:]
    private var deletions: [Int: Int] = [:]
    private var occurrences: [Int: Int] = [:]
    private var recognized: Set<Int> = []
    private var bucketTotals: [BucketTotals]

    public init(topN: Int, buckets: [(Int, Int?)] = ErrorAnalyzer.defaultBuckets) {
        self.topN = max(0, topN)
        self.buckets = buckets
        bucketTotals = Array(repeating: BucketTotals(), count: buckets.count)
    }

    /// Aligns one sample and records its errors.
    public mutating func add(reference: [Int], prediction: [Int]) {
        var edits = 0
        for operation in EditAlignment.align(reference, prediction) {
            switch operation {
            case let .match(ref, _):
                occurrences[reference[ref], default: 0] += 1
                recognized.insert(reference[ref])
            case let .substitution(ref, pred):
                occurrences[reference[ref], default: 0] += 1
                confusions[PairKey(reference: reference[ref], prediction: prediction[pred]), default: 0] += 1
                edits += 1
            case let .deletion(ref):
                occurrences[reference[ref], default: 0] += 1
                deletions[reference[ref], default: 0] += 1
                edits += 1
            case let .insertion(pred):
                insertions[prediction[pred], default: 0] += 1
                edits += 1
            }
        }
        let length = reference.count
        if let index = buckets.firstIndex(where: { length >= $0.0 && length <= ($0.1 ?? Int.max) }) {
            bucketTotals[index].count += 1
            bucketTotals[index].referenceCharacters += length
            bucketTotals[index].characterEdits += edits
            bucketTotals[index].cerSum += Double(edits) / Double(max(length, 1))
        }
    }

    /// Renders the report, turning ids back into text with `vocabulary`.
    public func report(vocabulary: UnitVocabulary) -> ErrorAnalysisReport {
        let render = { (id: Int) in vocabulary.unit(for: id) }
        let confusionList = confusions
            .map { ConfusionPair(reference: render($0.key.reference), prediction: render($0.key.prediction), count: $0.value) }
            .sorted { lhs, rhs in
                if lhs.count != rhs.count { return lhs.count > rhs.count }
                if !Self.scalarEqual(lhs.reference, rhs.reference) { return Self.scalarLess(lhs.reference, rhs.reference) }
                return Self.scalarLess(lhs.prediction, rhs.prediction)
            }
        let never = occurrences.filter { !recognized.contains($0.key) }
        var bucketReports: [LengthBucket] = []
        for (index, bucket) in buckets.enumerated() where bucketTotals[index].count > 0 {
            let totals = bucketTotals[index]
            let label = bucket.1.map { $0 == bucket.0 ? "\(bucket.0)" : "\(bucket.0)-\($0)" } ?? "\(bucket.0)+"
            bucketReports.append(LengthBucket(
                label: label, minLength: bucket.0, maxLength: bucket.1, count: totals.count,
                referenceCharacters: totals.referenceCharacters, characterEdits: totals.characterEdits,
                cer: Double(totals.characterEdits) / Double(max(totals.referenceCharacters, 1)),
                cerMean: totals.cerSum / Double(totals.count)))
        }
        return ErrorAnalysisReport(
            confusions: Array(confusionList.prefix(topN)),
            insertions: topUnits(insertions, render),
            deletions: topUnits(deletions, render),
            cerByLength: bucketReports,
            neverRecognized: topUnits(never, render),
            neverRecognizedCount: never.count,
            substitutionCount: confusions.values.reduce(0, +),
            insertionCount: insertions.values.reduce(0, +),
            deletionCount: deletions.values.reduce(0, +))
    }

    private func topUnits(_ counts: [Int: Int], _ render: (Int) -> String) -> [UnitCount] {
        let sorted = counts.map { UnitCount(unit: render($0.key), count: $0.value) }.sorted { lhs, rhs in
            lhs.count != rhs.count ? lhs.count > rhs.count : Self.scalarLess(lhs.unit, rhs.unit)
        }
        return Array(sorted.prefix(topN))
    }

    static func scalarEqual(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.elementsEqual(b.unicodeScalars)
    }

    static func scalarLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }
}
