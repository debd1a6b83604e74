import Foundation

// MARK: - Input

/// One evaluation sample: a ground-truth text and a model's output.
public struct TextPair: Codable, Sendable, Equatable {
    public var id: String?
    public var reference: String
    public var prediction: String

    public init(id: String? = nil, reference: String, prediction: String) {
        self.id = id
        self.reference = reference
        self.prediction = prediction
    }
}

// MARK: - Per-sample score

/// The counts measured on one sample, after the ``MetricOptions`` pipeline.
/// Rates are derived from the counts.
public struct SampleScore: Codable, Sendable, Equatable {
    public var id: String?
    /// Levenshtein distance between the character-unit sequences.
    public var characterEdits: Int
    public var referenceCharacters: Int
    public var predictionCharacters: Int
    /// Levenshtein distance between the word sequences.
    public var wordEdits: Int
    public var referenceWords: Int
    public var predictionWords: Int
    /// Size of the multiset intersection of the two bags of character units.
    public var matchedCharacters: Int
    /// sacreBLEU sufficient statistics of this sample.
    public var bleu: BLEUStatistics

    /// CER of the sample: `characterEdits / max(referenceCharacters, 1)`.
    /// For an empty reference this is the number of predicted units (as jiwer).
    public var cer: Double { Double(characterEdits) / Double(max(referenceCharacters, 1)) }
    /// WER of the sample: `wordEdits / max(referenceWords, 1)`.
    public var wer: Double { Double(wordEdits) / Double(max(referenceWords, 1)) }
    /// `characterEdits / max(referenceCharacters, predictionCharacters)`, in
    /// [0, 1]; 0 when both are empty.
    public var normalizedEditDistance: Double {
        let longest = max(referenceCharacters, predictionCharacters)
        return longest == 0 ? 0 : Double(characterEdits) / Double(longest)
    }
    /// Whether the character-unit sequences are identical.
    public var exactMatch: Bool { characterEdits == 0 }

    enum CodingKeys: String, CodingKey {
        case id
        case characterEdits = "char_edits"
        case referenceCharacters = "ref_chars"
        case predictionCharacters = "pred_chars"
        case wordEdits = "word_edits"
        case referenceWords = "ref_words"
        case predictionWords = "pred_words"
        case matchedCharacters = "matched_chars"
        case bleu
    }
}

// MARK: - Corpus report

/// Corpus-level text metrics. Every definition is stated on its property.
/// For an empty corpus (`count == 0`) every value is 0.
public struct TextMetricsReport: Codable, Sendable, Equatable {
    /// Number of samples.
    public var count: Int
    /// Micro-averaged CER: Σ character edits / max(Σ reference characters, 1).
    /// May exceed 1. Identical to jiwer's corpus `cer` over lists.
    public var cer: Double
    /// Mean of the per-sample CERs (``SampleScore/cer``).
    public var cerMean: Double
    /// Median of the per-sample CERs (mean of the two middle values for an even count).
    public var cerMedian: Double
    /// Micro-averaged WER: Σ word edits / max(Σ reference words, 1).
    public var wer: Double
    public var werMean: Double
    public var werMedian: Double
    /// ICDAR 2019 normalized-edit-distance score:
    /// 1 − mean(edits / max(len(ref), len(pred))), higher is better.
    public var ned: Double
    /// Fraction of samples whose character-unit sequences are identical.
    public var exactMatch: Double
    /// Bag-of-characters precision: Σ |R ∩ P| / Σ |P| (multisets of character
    /// units). 0/0 is 1 when Σ |R| is also 0, else 0.
    public var charPrecision: Double
    /// Bag-of-characters recall: Σ |R ∩ P| / Σ |R|. 0/0 is 1 when Σ |P| is also 0, else 0.
    public var charRecall: Double
    /// Harmonic mean of precision and recall (0 when both are 0).
    public var charF1: Double
    /// Corpus BLEU on the word text, 0–100 (see ``BLEU``): sacreBLEU's, with its `zh` tokenizer for
    /// segments in Chinese and effective order under the default options (``MetricOptions``).
    public var bleu: Double
    public var characterEdits: Int
    public var referenceCharacters: Int
    public var predictionCharacters: Int
    public var wordEdits: Int
    public var referenceWords: Int
    public var predictionWords: Int

    enum CodingKeys: String, CodingKey {
        case count, cer, wer, ned, bleu
        case cerMean = "cer_mean"
        case cerMedian = "cer_median"
        case werMean = "wer_mean"
        case werMedian = "wer_median"
        case exactMatch = "exact_match"
        case charPrecision = "char_precision"
        case charRecall = "char_recall"
        case charF1 = "char_f1"
        case characterEdits = "char_edits"
        case referenceCharacters = "ref_chars"
        case predictionCharacters = "pred_chars"
        case wordEdits = "word_edits"
        case referenceWords = "ref_words"
        case predictionWords = "pred_words"
    }

    /// Aggregates per-sample scores.
    /// `bleuEffectiveOrder`: ``MetricOptions/bleuEffectiveOrder``.
    public init(samples: [SampleScore], bleuEffectiveOrder: Bool = true) {
        count = samples.count
        characterEdits = samples.reduce(0) { $0 + $1.characterEdits }
        referenceCharacters = samples.reduce(0) { $0 + $1.referenceCharacters }
        predictionCharacters = samples.reduce(0) { $0 + $1.predictionCharacters }
        wordEdits = samples.reduce(0) { $0 + $1.wordEdits }
        referenceWords = samples.reduce(0) { $0 + $1.referenceWords }
        predictionWords = samples.reduce(0) { $0 + $1.predictionWords }
        guard count > 0 else {
            (cer, cerMean, cerMedian, wer, werMean, werMedian) = (0, 0, 0, 0, 0, 0)
            (ned, exactMatch, charPrecision, charRecall, charF1, bleu) = (0, 0, 0, 0, 0, 0)
            return
        }
        cer = Double(characterEdits) / Double(max(referenceCharacters, 1))
        wer = Double(wordEdits) / Double(max(referenceWords, 1))
        let cers = samples.map(\.cer)
        let wers = samples.map(\.wer)
        cerMean = MetricStatistics.mean(cers)
        cerMedian = MetricStatistics.median(cers)
        werMean = MetricStatistics.mean(wers)
        werMedian = MetricStatistics.median(wers)
        ned = 1 - MetricStatistics.mean(samples.map(\.normalizedEditDistance))
        exactMatch = Double(samples.filter(\.exactMatch).count) / Double(count)
        let matched = samples.reduce(0) { $0 + $1.matchedCharacters }
        let prf = MetricStatistics.precisionRecallF1(
            truePositives: matched, predicted: predictionCharacters, expected: referenceCharacters)
        (charPrecision, charRecall, charF1) = prf
        var statistics = BLEUStatistics()
        for sample in samples { statistics += sample.bleu }
        bleu = BLEU.score(statistics, effectiveOrder: bleuEffectiveOrder).score
    }
}

// MARK: - Scorer

/// Scores samples one at a time under fixed options. Keeps the unit
/// vocabularies so that ids stay comparable across a corpus.
public struct TextScorer: Sendable {
    public private(set) var preprocessor: TextPreprocessor
    private var bleuVocabulary = UnitVocabulary()

    public init(options: MetricOptions = .default) {
        preprocessor = TextPreprocessor(options: options)
    }

    public var options: MetricOptions { preprocessor.options }

    /// Prepares both strings and measures every count.
    public mutating func score(reference: String, prediction: String, id: String? = nil) -> SampleScore {
        let ref = preprocessor.prepare(reference)
        let pred = preprocessor.prepare(prediction)
        return score(reference: ref, prediction: pred, id: id)
    }

    /// Measures already prepared texts (from this scorer's ``preprocessor``).
    public mutating func score(reference ref: PreparedText, prediction pred: PreparedText, id: String? = nil) -> SampleScore {
        SampleScore(
            id: id,
            characterEdits: Levenshtein.distance(ref.characters, pred.characters),
            referenceCharacters: ref.characters.count,
            predictionCharacters: pred.characters.count,
            wordEdits: Levenshtein.distance(ref.words, pred.words),
            referenceWords: ref.words.count,
            predictionWords: pred.words.count,
            matchedCharacters: MetricStatistics.multisetIntersectionCount(ref.characters, pred.characters),
            bleu: BLEU.segmentStatistics(
                hypothesis: pred.text, reference: ref.text, vocabulary: &bleuVocabulary,
                tokenizer: options.splitUnspacedScripts ? .auto : .t13a))
    }

    /// Prepares a string with this scorer's options (and vocabularies).
    public mutating func prepare(_ text: String) -> PreparedText {
        preprocessor.prepare(text)
    }
}

// MARK: - Convenience

/// One-call entry points.
public enum TextMetrics {
    /// Scores every pair and aggregates.
    public static func evaluate(_ pairs: [TextPair], options: MetricOptions = .default) -> (report: TextMetricsReport, samples: [SampleScore]) {
        var scorer = TextScorer(options: options)
        let samples = pairs.map { scorer.score(reference: $0.reference, prediction: $0.prediction, id: $0.id) }
        return (TextMetricsReport(samples: samples, bleuEffectiveOrder: options.bleuEffectiveOrder), samples)
    }

    /// CER of one pair: character edits / max(reference length, 1).
    public static func cer(reference: String, prediction: String, options: MetricOptions = .default) -> Double {
        var scorer = TextScorer(options: options)
        return scorer.score(reference: reference, prediction: prediction).cer
    }

    /// Micro-averaged corpus CER (Σ edits / max(Σ reference length, 1)). Computes only what
    /// CER needs (no words, BLEU or bags of characters).
    public static func cer(references: [String], predictions: [String], options: MetricOptions = .default) -> Double {
        precondition(references.count == predictions.count, "references and predictions differ in count")
        var preprocessor = TextPreprocessor(options: options)
        var edits = 0
        var length = 0
        for (reference, prediction) in zip(references, predictions) {
            let r = preprocessor.characters(reference)
            edits += Levenshtein.distance(r, preprocessor.characters(prediction))
            length += r.count
        }
        return Double(edits) / Double(max(length, 1))
    }

    /// WER of one pair: word edits / max(reference words, 1).
    public static func wer(reference: String, prediction: String, options: MetricOptions = .default) -> Double {
        var scorer = TextScorer(options: options)
        return scorer.score(reference: reference, prediction: prediction).wer
    }

    /// Micro-averaged corpus WER (Σ word edits / max(Σ reference words, 1)).
    public static func wer(references: [String], predictions: [String], options: MetricOptions = .default) -> Double {
        evaluate(zipPairs(references, predictions), options: options).report.wer
    }

    static func zipPairs(_ references: [String], _ predictions: [String]) -> [TextPair] {
        precondition(references.count == predictions.count, "references and predictions differ in count")
        return zip(references, predictions).map { TextPair(reference: $0, prediction: $1) }
    }
}

// MARK: - Statistics helpers

public enum MetricStatistics {
    /// Arithmetic mean; 0 for an empty list.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Median; the mean of the two middle values for an even count; 0 for an empty list.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Precision = tp / predicted, recall = tp / expected, F1 = 2PR / (P + R).
    /// 0/0 is 1 when both `predicted` and `expected` are 0 (nothing to find,
    /// nothing claimed), otherwise 0. F1 is 0 when P + R is 0.
    public static func precisionRecallF1(truePositives: Int, predicted: Int, expected: Int) -> (Double, Double, Double) {
        let bothEmpty = predicted == 0 && expected == 0
        let precision = predicted == 0 ? (bothEmpty ? 1 : 0) : Double(truePositives) / Double(predicted)
        let recall = expected == 0 ? (bothEmpty ? 1 : 0) : Double(truePositives) / Double(expected)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return (precision, recall, f1)
    }

    /// |A ∩ B| for multisets: Σ over values of min(count in A, count in B).
    public static func multisetIntersectionCount(_ a: [Int], _ b: [Int]) -> Int {
        if a.isEmpty || b.isEmpty { return 0 }
        let x = a.sorted()
        let y = b.sorted()
        var i = 0
        var j = 0
        var common = 0
        while i < x.count, j < y.count {
            if x[i] == y[j] {
                common += 1
                i += 1
                j += 1
            } else if x[i] < y[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return common
    }
}
