// Before/after comparison of two runs on the same samples, with paired-bootstrap intervals.

import Foundation
import OCRSupport

// MARK: - Results

/// A metric of both runs, their difference (B − A) and its 95% paired-bootstrap interval.
public struct MetricDelta: Codable, Equatable, Sendable {
    public let name: String
    public let a: Double
    public let b: Double
    public let delta: Double
    public let low: Double
    public let high: Double

    /// Whether the interval excludes zero.
    public var isSignificant: Bool { low > 0 || high < 0 }
}

public struct ComparisonResult: Codable, Sendable {
    public let count: Int
    public let onlyInA: Int
    public let onlyInB: Int
    public let resamples: Int
    public let seed: UInt64
    public let metrics: [MetricDelta]
    /// Samples wrong in A and exactly right in B.
    public let fixed: [String]
    /// Samples exactly right in A and wrong in B.
    public let broken: [String]
    /// Samples whose CER went down (fixed ones included) or up (broken ones included).
    public let improved: [String]
    public let worsened: [String]

    enum CodingKeys: String, CodingKey {
        case count, resamples, seed, metrics, fixed, broken, improved, worsened
        case onlyInA = "only_in_a"
        case onlyInB = "only_in_b"
    }

    /// The same result with its id lists cut to `n` entries (for printing).
    public static func truncated(_ r: ComparisonResult, to n: Int) -> ComparisonResult {
        ComparisonResult(
            count: r.count, onlyInA: r.onlyInA, onlyInB: r.onlyInB, resamples: r.resamples, seed: r.seed,
            metrics: r.metrics, fixed: Array(r.fixed.prefix(n)), broken: Array(r.broken.prefix(n)),
            improved: Array(r.improved.prefix(n)), worsened: Array(r.worsened.prefix(n)))
    }
}

// MARK: - Comparison

public enum Comparison {
    /// Compares run A (before) with run B (after) on the samples both contain (by id).
    /// Intervals: `resamples` bootstrap draws of the common samples with replacement, the
    /// same draw applied to both runs (paired), 2.5th and 97.5th percentiles of B − A.
    public static func compare(
        _ a: [PredictionRecord], _ b: [PredictionRecord], resamples: Int = 1000, seed: UInt64 = 0
    ) throws -> ComparisonResult {
        let bByID = Dictionary(b.map { ($0.id, $0) }, uniquingKeysWith: { x, _ in x })
        let pairs = a.compactMap { r in bByID[r.id].map { (r, $0) } }
        guard !pairs.isEmpty else { throw EvaluationError("the two runs share no sample ids") }
        let aIDs = Set(a.map(\.id))

        typealias Stat = ([(PredictionRecord, PredictionRecord)], [Int]) -> (Double, Double)
        let cer: Stat = { p, idx in
            var (ea, eb, n) = (0, 0, 0)
            for i in idx { ea += p[i].0.characterEdits; eb += p[i].1.characterEdits; n += p[i].0.referenceCharacters }
            return (Double(ea) / Double(max(n, 1)), Double(eb) / Double(max(n, 1)))
        }
        let wer: Stat = { p, idx in
            var (ea, eb, n) = (0, 0, 0)
            for i in idx { ea += p[i].0.wordEdits; eb += p[i].1.wordEdits; n += p[i].0.referenceWords }
            return (Double(ea) / Double(max(n, 1)), Double(eb) / Double(max(n, 1)))
        }
        let exact: Stat = { p, idx in
            var (ma, mb) = (0, 0)
            for i in idx { ma += p[i].0.exactMatch ? 1 : 0; mb += p[i].1.exactMatch ? 1 : 0 }
            return (Double(ma) / Double(max(idx.count, 1)), Double(mb) / Double(max(idx.count, 1)))
        }

        var rng = SplitMix64(seed: seed)
        let n = pairs.count
        let all = Array(0 ..< n)
        let draws: [[Int]] = (0 ..< resamples).map { _ in (0 ..< n).map { _ in Int(rng.next() % UInt64(n)) } }
        let metrics = [("cer", cer), ("wer", wer), ("exact_match", exact)].map { name, stat -> MetricDelta in
            let (va, vb) = stat(pairs, all)
            let deltas = draws.map { d -> Double in
                let (x, y) = stat(pairs, d)
                return y - x
            }.sorted()
            let lo = deltas.isEmpty ? vb - va : deltas[Int(Double(deltas.count - 1) * 0.025)]
            let hi = deltas.isEmpty ? vb - va : deltas[Int((Double(deltas.count - 1) * 0.975).rounded(.up))]
            return MetricDelta(name: name, a: va, b: vb, delta: vb - va, low: lo, high: hi)
        }
        return ComparisonResult(
            count: n, onlyInA: a.count - n, onlyInB: b.filter { !aIDs.contains($0.id) }.count,
            resamples: resamples, seed: seed, metrics: metrics,
            fixed: pairs.filter { !$0.0.exactMatch && $0.1.exactMatch }.map(\.0.id),
            broken: pairs.filter { $0.0.exactMatch && !$0.1.exactMatch }.map(\.0.id),
            improved: pairs.filter { $0.1.cer < $0.0.cer }.map(\.0.id),
            worsened: pairs.filter { $0.1.cer > $0.0.cer }.map(\.0.id))
    }
}

// MARK: - Summary for people

extension ComparisonResult {
    /// The comparison as a few aligned lines: each metric before and after, the change in points
    /// with its interval (and whether it excludes zero), then the samples fixed and broken.
    public func summary(nameA: String, nameB: String, listing: Int = 10) -> String {
        func percent(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }
        func points(_ v: Double) -> String { String(format: "%+.2f", v * 100) }
        var lines = [
            "A: \(nameA)", "B: \(nameB)",
            "\(count) samples in both" + (onlyInA + onlyInB > 0 ? " (\(onlyInA) only in A, \(onlyInB) only in B)" : "")
                + "; 95% intervals from \(resamples) paired bootstrap resamples",
            "",
            "metric          A          B     B − A (points)   95% interval",
        ]
        for m in metrics {
            let verdict = m.isSignificant ? (m.name == "exact_match" ? (m.delta > 0 ? "better" : "worse") : (m.delta < 0 ? "better" : "worse")) : "no clear change"
            lines.append(
                m.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + percent(m.a).leftPadded(to: 9) + percent(m.b).leftPadded(to: 11)
                    + points(m.delta).leftPadded(to: 12) + "       [\(points(m.low)), \(points(m.high))]  \(verdict)")
        }
        lines.append("")
        lines.append("fixed \(fixed.count) · broken \(broken.count) · CER improved on \(improved.count) · worsened on \(worsened.count)")
        if !fixed.isEmpty { lines.append("fixed:  " + fixed.prefix(listing).joined(separator: " ") + (fixed.count > listing ? " …" : "")) }
        if !broken.isEmpty { lines.append("broken: " + broken.prefix(listing).joined(separator: " ") + (broken.count > listing ? " …" : "")) }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
