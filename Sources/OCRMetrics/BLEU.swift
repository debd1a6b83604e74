import Foundation

// MARK: - Sufficient statistics

/// Per-segment BLEU statistics (sacreBLEU's `[hyp_len, ref_len] + correct + total`),
/// summed over a corpus before the score is computed.
public struct BLEUStatistics: Codable, Sendable, Equatable {
    /// Number of hypothesis tokens.
    public var hypothesisLength: Int = 0
    /// Number of reference tokens.
    public var referenceLength: Int = 0
    /// Clipped n-gram matches for n = 1...4.
    public var correct: [Int] = [0, 0, 0, 0]
    /// Hypothesis n-grams for n = 1...4.
    public var total: [Int] = [0, 0, 0, 0]

    public init() {}

    public static func += (lhs: inout BLEUStatistics, rhs: BLEUStatistics) {
        lhs.hypothesisLength += rhs.hypothesisLength
        lhs.referenceLength += rhs.referenceLength
        for n in 0..<BLEU.maxOrder {
            lhs.correct[n] += rhs.correct[n]
            lhs.total[n] += rhs.total[n]
        }
    }

    enum CodingKeys: String, CodingKey {
        case hypothesisLength = "hyp_len"
        case referenceLength = "ref_len"
        case correct
        case total
    }
}

// MARK: - Score

/// A corpus BLEU score with its components, on sacreBLEU's 0–100 scale.
public struct BLEUScore: Codable, Sendable, Equatable {
    /// BLEU, 0–100 (sacreBLEU's `BLEUScore.score`).
    public var score: Double
    /// Modified n-gram precisions in percent, n = 1...4, after smoothing.
    public var precisions: [Double]
    /// Brevity penalty.
    public var brevityPenalty: Double
    /// The summed statistics the score was computed from.
    public var statistics: BLEUStatistics

    enum CodingKeys: String, CodingKey {
        case score
        case precisions
        case brevityPenalty = "bp"
        case statistics
    }
}

// MARK: - BLEU

/// Corpus BLEU exactly as `sacrebleu.corpus_bleu(hypotheses, [references])`
/// with sacreBLEU 2.x defaults: one reference per segment, `13a` tokenizer,
/// case-sensitive, n-grams up to 4, `exp` smoothing (mteval-v13a: the k-th
/// order with zero matches gets precision 100 / (2^k · total)), brevity
/// penalty `exp(1 − r/c)` when c < r (0 when c = 0), and
/// `score = BP · exp(Σ log p_n / 4)` with `log 0` floored to −9999999999.
/// The score is 0 when no unigram matches at all, and effectively 0 when some
/// n-gram order has no hypothesis n-grams (e.g. every hypothesis is shorter
/// than 4 tokens).
public enum BLEU {
    public static let maxOrder = 4

    /// sacreBLEU's tokenizers: `13a` (its default), `zh` (Chinese characters separated, then
    /// `13a`), or `auto`: `zh` for a segment whose reference holds Chinese characters, else `13a`.
    public enum Tokenizer: String, Sendable { case t13a = "13a", zh, auto }

    /// The corpus BLEU of `hypotheses` against `references` (same length). `effectiveOrder`:
    /// sacreBLEU's `use_effective_order`, averaging only the n-gram orders the hypotheses have
    /// (without it, a corpus of lines shorter than 4 tokens scores 0 even when every line is exact).
    public static func corpusScore(
        hypotheses: [String], references: [String], tokenizer: Tokenizer = .t13a, effectiveOrder: Bool = false
    ) -> BLEUScore {
        precondition(hypotheses.count == references.count, "BLEU: hypotheses and references differ in count")
        var vocabulary = UnitVocabulary()
        var statistics = BLEUStatistics()
        for (hypothesis, reference) in zip(hypotheses, references) {
            statistics += segmentStatistics(hypothesis: hypothesis, reference: reference, vocabulary: &vocabulary, tokenizer: tokenizer)
        }
        return score(statistics, effectiveOrder: effectiveOrder)
    }

    /// Statistics of one segment. `vocabulary` maps tokens to ids; share one
    /// across a corpus.
    public static func segmentStatistics(
        hypothesis: String, reference: String, vocabulary: inout UnitVocabulary, tokenizer: Tokenizer = .t13a
    ) -> BLEUStatistics {
        let zh = tokenizer == .zh
            || (tokenizer == .auto && reference.unicodeScalars.contains { TextPreprocessor.isUnspacedScriptCharacter($0.value) })
        let hypothesisTokens = tokenIDs13a(zh ? separatingChinese(hypothesis) : hypothesis, vocabulary: &vocabulary)
        let referenceTokens = tokenIDs13a(zh ? separatingChinese(reference) : reference, vocabulary: &vocabulary)
        let hypothesisNGrams = sortedNGrams(hypothesisTokens)
        let referenceNGrams = sortedNGrams(referenceTokens)
        var statistics = BLEUStatistics()
        statistics.hypothesisLength = hypothesisTokens.count
        statistics.referenceLength = referenceTokens.count
        // Merge the two sorted lists: Σ over distinct n-grams of min(hyp count, ref count).
        var i = 0
        var j = 0
        while i < hypothesisNGrams.count {
            let ngram = hypothesisNGrams[i]
            var hypothesisCount = 0
            while i < hypothesisNGrams.count, hypothesisNGrams[i] == ngram {
                hypothesisCount += 1
                i += 1
            }
            statistics.total[ngram.order - 1] += hypothesisCount
            while j < referenceNGrams.count, referenceNGrams[j] < ngram { j += 1 }
            var referenceCount = 0
            while j < referenceNGrams.count, referenceNGrams[j] == ngram {
                referenceCount += 1
                j += 1
            }
            statistics.correct[ngram.order - 1] += min(hypothesisCount, referenceCount)
        }
        return statistics
    }

    /// sacreBLEU's `zh` tokenizer before its `13a` step: every Chinese character between spaces.
    static func separatingChinese(_ line: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in line.unicodeScalars {
            if TextPreprocessor.isUnspacedScriptCharacter(scalar.value) {
                out.append(" ")
                out.append(scalar)
                out.append(" ")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// The score from summed statistics (sacreBLEU's `compute_bleu`; `effectiveOrder` as its
    /// `use_effective_order`: the mean runs over the orders up to the last with hypothesis n-grams).
    public static func score(_ statistics: BLEUStatistics, effectiveOrder: Bool = false) -> BLEUScore {
        let sys = statistics.hypothesisLength
        let ref = statistics.referenceLength
        var bp = 1.0
        if sys < ref { bp = sys > 0 ? exp(1 - Double(ref) / Double(sys)) : 0.0 }
        var precisions = [Double](repeating: 0, count: maxOrder)
        guard statistics.correct.contains(where: { $0 != 0 }) else {
            return BLEUScore(score: 0, precisions: precisions, brevityPenalty: bp, statistics: statistics)
        }
        var smooth = 1.0
        for n in 0..<maxOrder {
            let total = statistics.total[n]
            if total == 0 { break }
            let correct = statistics.correct[n]
            if correct == 0 {
                smooth *= 2
                precisions[n] = 100.0 / (smooth * Double(total))
            } else {
                precisions[n] = 100.0 * Double(correct) / Double(total)
            }
        }
        let orders = effectiveOrder ? Swift.max(1, (0 ..< maxOrder).last { statistics.total[$0] > 0 }.map { $0 + 1 } ?? 1) : maxOrder
        var logSum = 0.0
        for p in precisions.prefix(orders) { logSum += p == 0 ? -9_999_999_999 : log(p) }
        let score = bp * exp(logSum / Double(orders))
        return BLEUScore(score: score, precisions: precisions, brevityPenalty: bp, statistics: statistics)
    }

    // MARK: N-grams

    struct NGram: Hashable, Comparable {
        var order: Int
        var a: Int, b: Int, c: Int, d: Int

        static func < (lhs: NGram, rhs: NGram) -> Bool {
            (lhs.order, lhs.a, lhs.b, lhs.c, lhs.d) < (rhs.order, rhs.a, rhs.b, rhs.c, rhs.d)
        }
    }

    /// All n-grams (n = 1...4) of a token sequence, sorted.
    static func sortedNGrams(_ tokens: [Int]) -> [NGram] {
        var ngrams: [NGram] = []
        ngrams.reserveCapacity(tokens.count * maxOrder)
        for n in 1...maxOrder where tokens.count >= n {
            for i in 0...(tokens.count - n) {
                ngrams.append(NGram(
                    order: n, a: tokens[i],
                    b: n > 1 ? tokens[i + 1] : -1,
                    c: n > 2 ? tokens[i + 2] : -1,
                    d: n > 3 ? tokens[i + 3] : -1))
            }
        }
        ngrams.sort()
        return ngrams
    }

    // MARK: 13a tokenizer

    /// sacreBLEU's `13a` tokenizer applied to `line.rstrip()`, returned as the
    /// token list (`line.split()`). Works on code points, like Python.
    public static func tokenize13a(_ line: String) -> [String] {
        var tokens: [String] = []
        forEachToken13a(line) { tokens.append(String(String.UnicodeScalarView($0))) }
        return tokens
    }

    /// Token ids of the `13a` tokens (see ``UnitVocabulary``).
    static func tokenIDs13a(_ line: String, vocabulary: inout UnitVocabulary) -> [Int] {
        var ids: [Int] = []
        forEachToken13a(line) { token in
            if token.count == 1 {
                ids.append(Int(token.first!.value))
            } else {
                ids.append(vocabulary.id(for: String(String.UnicodeScalarView(token))))
            }
        }
        return ids
    }

    /// Runs the `13a` pipeline and calls `body` with each token's code points.
    static func forEachToken13a(_ line: String, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        var s: [Unicode.Scalar] = [" "]
        s.reserveCapacity(line.utf8.count + 2)
        s.append(contentsOf: line.unicodeScalars)
        while s.count > 1, let last = s.last, TextPreprocessor.isWhitespace(last.value) { s.removeLast() }
        // Language-independent part (the leading " " of f' {line} ' is already in place).
        if s.contains("<") { s = replaceAll(s, "<skipped>", "") }
        if s.contains("\n") {
            s = replaceAll(s, "-\n", "")
            s = replaceAll(s, "\n", " ")
        }
        if s.contains("&") {
            s = replaceAll(s, "&quot;", "\"")
            s = replaceAll(s, "&amp;", "&")
            s = replaceAll(s, "&lt;", "<")
            s = replaceAll(s, "&gt;", ">")
        }
        s.append(" ")
        // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count * 2)
        var hasPeriodOrComma = false
        var hasDash = false
        for scalar in s {
            let v = scalar.value
            if isSeparatedSymbol(v) {
                out.append(" ")
                out.append(scalar)
                out.append(" ")
            } else {
                out.append(scalar)
                if isPeriodOrComma(v) { hasPeriodOrComma = true }
                if v == 0x2D { hasDash = true }
            }
        }
        if hasPeriodOrComma {
            // ([^0-9])([\.,]) -> "\1 \2 "
            out = substitutePairs(out, firstIsPeriodOrComma: false, secondIsPeriodOrComma: true, leadingSpace: false)
            // ([\.,])([^0-9]) -> " \1 \2"
            out = substitutePairs(out, firstIsPeriodOrComma: true, secondIsPeriodOrComma: false, leadingSpace: true)
        }
        if hasDash {
            // ([0-9])(-) -> "\1 \2 "
            var dashed: [Unicode.Scalar] = []
            dashed.reserveCapacity(out.count + 8)
            var i = 0
            while i < out.count {
                if i + 1 < out.count, isDigit(out[i].value), out[i + 1].value == 0x2D {
                    dashed.append(contentsOf: [out[i], " ", out[i + 1], " "])
                    i += 2
                } else {
                    dashed.append(out[i])
                    i += 1
                }
            }
            out = dashed
        }
        // ' '.join(line.split()), then split() again: whitespace-separated tokens.
        var start = -1
        for index in out.indices {
            if TextPreprocessor.isWhitespace(out[index].value) {
                if start >= 0 {
                    body(out[start..<index])
                    start = -1
                }
            } else if start < 0 {
                start = index
            }
        }
        if start >= 0 { body(out[start..<out.count]) }
    }

    @inline(__always) static func isDigit(_ v: UInt32) -> Bool { v >= 0x30 && v <= 0x39 }
    @inline(__always) static func isPeriodOrComma(_ v: UInt32) -> Bool { v == 0x2E || v == 0x2C }

    static func isSeparatedSymbol(_ v: UInt32) -> Bool {
        switch v {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    /// Python `re.sub` for `([^0-9])([\.,])` → `\1 \2 ` (`leadingSpace == false`)
    /// or `([\.,])([^0-9])` → ` \1 \2`: scans left to right and replaces
    /// non-overlapping matches.
    static func substitutePairs(
        _ s: [Unicode.Scalar], firstIsPeriodOrComma: Bool, secondIsPeriodOrComma: Bool, leadingSpace: Bool
    ) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count {
                let x = s[i].value
                let y = s[i + 1].value
                let firstMatches = firstIsPeriodOrComma ? isPeriodOrComma(x) : !isDigit(x)
                let secondMatches = secondIsPeriodOrComma ? isPeriodOrComma(y) : !isDigit(y)
                if firstMatches && secondMatches {
                    if leadingSpace {
                        out.append(contentsOf: [" ", s[i], " ", s[i + 1]])
                    } else {
                        out.append(contentsOf: [s[i], " ", s[i + 1], " "])
                    }
                    i += 2
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// Python `str.replace(old, new)` on code points.
    static func replaceAll(_ s: [Unicode.Scalar], _ old: String, _ new: String) -> [Unicode.Scalar] {
        let pattern = Array(old.unicodeScalars)
        let replacement = Array(new.unicodeScalars)
        guard !pattern.isEmpty, s.count >= pattern.count else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + pattern.count <= s.count, s[i] == pattern[0], s[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: replacement)
                i += pattern.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
