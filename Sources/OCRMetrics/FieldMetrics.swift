// MARK: - Input

/// One key–value extraction sample: field name → value, for the ground truth
/// and the prediction. A field whose value is empty or whitespace-only counts
/// as absent.
public struct FieldPair: Codable, Sendable, Equatable {
    public var id: String?
    public var reference: [String: String]
    public var prediction: [String: String]

    public init(id: String? = nil, reference: [String: String], prediction: [String: String]) {
        self.id = id
        self.reference = reference
        self.prediction = prediction
    }
}

// MARK: - Results

/// Precision/recall/F1 with the counts behind them.
/// precision = tp / predicted, recall = tp / expected, F1 = 2PR / (P + R);
/// see ``MetricStatistics/precisionRecallF1(truePositives:predicted:expected:)`` for 0/0.
public struct PrecisionRecallF1: Codable, Sendable, Equatable {
    public var truePositives: Int
    public var predicted: Int
    public var expected: Int
    public var precision: Double
    public var recall: Double
    public var f1: Double

    public init(truePositives: Int, predicted: Int, expected: Int) {
        self.truePositives = truePositives
        self.predicted = predicted
        self.expected = expected
        (precision, recall, f1) = MetricStatistics.precisionRecallF1(
            truePositives: truePositives, predicted: predicted, expected: expected)
    }

    enum CodingKeys: String, CodingKey {
        case truePositives = "true_positives"
        case predicted, expected, precision, recall, f1
    }
}

/// Both matching modes for one field name or for all fields.
public struct FieldModeScores: Codable, Sendable, Equatable {
    /// Values identical code point by code point.
    public var exact: PrecisionRecallF1
    /// Values equal after ``FieldMetrics/normalizedValue(_:normalization:)``.
    public var normalized: PrecisionRecallF1
}

/// Field-level (micro-averaged over all fields of all samples) scores.
///
/// A predicted field is a true positive when the reference has the same field
/// name (names compare as Swift strings) with a matching value. `predicted` is
/// the number of present predicted fields, `expected` the number of present
/// reference fields.
public struct FieldMetricsReport: Codable, Sendable, Equatable {
    public var count: Int
    public var exact: PrecisionRecallF1
    public var normalized: PrecisionRecallF1
    /// The same scores restricted to each field name.
    public var perField: [String: FieldModeScores]

    enum CodingKeys: String, CodingKey {
        case count, exact, normalized
        case perField = "per_field"
    }
}

// MARK: - Metrics

public enum FieldMetrics {
    /// The normalized form of a field value: the Unicode normalization form,
    /// full case folding (then the form again), every run of whitespace
    /// (Python `str.isspace()` code points) replaced by one space, and the
    /// ends trimmed.
    public static func normalizedValue(_ value: String, normalization: UnicodeNormalization = .nfc) -> String {
        let folded = TextPreprocessor.normalize(
            value, options: MetricOptions(normalization: normalization, ignoreCase: true))
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in folded.unicodeScalars {
            if TextPreprocessor.isWhitespace(scalar.value) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Whether a value counts as present (not empty after trimming whitespace).
    public static func isPresent(_ value: String) -> Bool {
        value.unicodeScalars.contains { !TextPreprocessor.isWhitespace($0.value) }
    }

    private struct Counts {
        var exactTP = 0
        var normalizedTP = 0
        var predicted = 0
        var expected = 0

        var scores: FieldModeScores {
            FieldModeScores(
                exact: PrecisionRecallF1(truePositives: exactTP, predicted: predicted, expected: expected),
                normalized: PrecisionRecallF1(truePositives: normalizedTP, predicted: predicted, expected: expected))
        }
    }

    /// Scores every sample and aggregates (micro average).
    public static func evaluate(_ pairs: [FieldPair], normalization: UnicodeNormalization = .nfc) -> FieldMetricsReport {
        var total = Counts()
        var perField: [String: Counts] = [:]
        for pair in pairs {
            let reference = pair.reference.filter { isPresent($0.value) }
            let prediction = pair.prediction.filter { isPresent($0.value) }
            for name in reference.keys {
                total.expected += 1
                perField[name, default: Counts()].expected += 1
            }
            for (name, value) in prediction {
                total.predicted += 1
                perField[name, default: Counts()].predicted += 1
                guard let expected = reference[name] else { continue }
                if expected.unicodeScalars.elementsEqual(value.unicodeScalars) {
                    total.exactTP += 1
                    perField[name, default: Counts()].exactTP += 1
                }
                let a = normalizedValue(expected, normalization: normalization)
                let b = normalizedValue(value, normalization: normalization)
                if a.unicodeScalars.elementsEqual(b.unicodeScalars) {
                    total.normalizedTP += 1
                    perField[name, default: Counts()].normalizedTP += 1
                }
            }
        }
        let totals = total.scores
        return FieldMetricsReport(
            count: pairs.count, exact: totals.exact, normalized: totals.normalized,
            perField: perField.mapValues(\.scores))
    }
}
