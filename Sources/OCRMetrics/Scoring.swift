import Foundation

// MARK: - Errors

/// Problems with a score input file. Descriptions name the file and, where
/// there is one, the 1-based line number.
public enum ScoreInputError: Error, LocalizedError, Equatable, Sendable {
    case unreadable(file: String, reason: String)
    case badLine(file: String, line: Int, reason: String)
    case mixedRecordKinds(file: String, line: Int)
    case noRecords(file: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read: \(reason)"
        case let .badLine(file, line, reason):
            return "\(file):\(line): \(reason)"
        case let .mixedRecordKinds(file, line):
            return "\(file):\(line): mixes text records and field (object) records; use one kind per file"
        case let .noRecords(file):
            return "\(file): no records"
        }
    }
}

// MARK: - Records

/// One JSONL record: text (`"reference"` and `"prediction"` are strings) or
/// fields (both are objects of field name → string or null).
public enum ScoreRecord: Sendable, Equatable {
    case text(TextPair)
    case fields(FieldPair)
}

/// Reads score input: JSON Lines, one object per line,
/// `{"reference": ..., "prediction": ..., "id": ...}` (`id` optional, string
/// or integer). A `null` prediction counts as empty; blank lines are skipped;
/// a UTF-8 byte order mark and CRLF line ends are accepted.
public enum ScoreInput {
    public static func read(path: String) throws -> [ScoreRecord] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScoreInputError.unreadable(file: path, reason: error.localizedDescription)
        }
        return try parse(data, file: path)
    }

    public static func parse(_ data: Data, file: String) throws -> [ScoreRecord] {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var records: [ScoreRecord] = []
        var firstKindIsText: Bool? = nil
        let decoder = JSONDecoder()
        var lineNumber = 0
        for var line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let raw: RawRecord
            do {
                raw = try decoder.decode(RawRecord.self, from: Data(line))
            } catch {
                throw ScoreInputError.badLine(file: file, line: lineNumber, reason: describe(error))
            }
            let record: ScoreRecord
            switch (raw.reference, raw.prediction ?? .text("")) {
            case let (.text(reference), .text(prediction)):
                record = .text(TextPair(id: raw.id, reference: reference, prediction: prediction))
            case let (.fields(reference), .fields(prediction)):
                record = .fields(FieldPair(id: raw.id, reference: reference, prediction: prediction))
            case let (.fields(reference), .text(prediction)) where raw.prediction == nil || prediction.isEmpty:
                record = .fields(FieldPair(id: raw.id, reference: reference, prediction: [:]))
            default:
                throw ScoreInputError.badLine(
                    file: file, line: lineNumber,
                    reason: "\"reference\" and \"prediction\" must both be strings or both be objects")
            }
            let isText: Bool
            if case .text = record { isText = true } else { isText = false }
            if let first = firstKindIsText, first != isText {
                throw ScoreInputError.mixedRecordKinds(file: file, line: lineNumber)
            }
            firstKindIsText = isText
            records.append(record)
        }
        return records
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, _):
            return "missing key \"\(key.stringValue)\""
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\"\(path)\": \(context.debugDescription)"
        case let DecodingError.dataCorrupted(context):
            if context.codingPath.isEmpty { return "invalid JSON" }
            return "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\": \(context.debugDescription)"
        default:
            return "invalid JSON"
        }
    }

    private enum RawValue: Decodable, Equatable {
        case text(String)
        case fields([String: String])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
                return
            }
            if let object = try? container.decode([String: String?].self) {
                self = .fields(object.compactMapValues { $0 })
                return
            }
            throw DecodingError.typeMismatch(RawValue.self, DecodingError.Context(
                codingPath: decoder.codingPath,
                debugDescription: "expected a string or an object of strings"))
        }
    }

    private struct RawRecord: Decodable {
        var id: String?
        var reference: RawValue
        var prediction: RawValue?

        enum CodingKeys: String, CodingKey { case id, reference, prediction }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let text = try? container.decodeIfPresent(String.self, forKey: .id) {
                id = text
            } else if let number = try? container.decodeIfPresent(Int.self, forKey: .id) {
                id = String(number)
            } else {
                id = nil
            }
            reference = try container.decode(RawValue.self, forKey: .reference)
            prediction = try container.decodeIfPresent(RawValue.self, forKey: .prediction)
            if !container.contains(.prediction) {
                throw DecodingError.keyNotFound(CodingKeys.prediction, DecodingError.Context(
                    codingPath: [], debugDescription: "missing prediction"))
            }
        }
    }
}

// MARK: - Configuration

/// Everything `ocrtune score` can be asked for; echoed in the report.
public struct ScoreConfiguration: Codable, Sendable, Equatable {
    public var options: MetricOptions
    /// Add LaTeX-aware token metrics (section `latex`).
    public var latex: Bool
    /// Add error analysis with this many entries per list (section `errors`).
    public var errors: Int?

    public init(options: MetricOptions = .default, latex: Bool = false, errors: Int? = nil) {
        self.options = options
        self.latex = latex
        self.errors = errors
    }

    public func encode(to encoder: Encoder) throws {
        try options.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(latex, forKey: .latex)
        try container.encodeIfPresent(errors, forKey: .errors)
    }

    public init(from decoder: Decoder) throws {
        options = try MetricOptions(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        latex = try container.decodeIfPresent(Bool.self, forKey: .latex) ?? false
        errors = try container.decodeIfPresent(Int.self, forKey: .errors)
    }

    enum CodingKeys: String, CodingKey { case latex, errors }
}

// MARK: - Report

/// The `ocrtune score` report. For text records the ``TextMetricsReport``
/// keys (`cer`, `wer`, `ned`, …) sit at the top level next to `options`,
/// `errors` and `latex`; for field records the top level has `count`,
/// `fields` and `options`.
public struct ScoreReport: Codable, Sendable, Equatable {
    public var count: Int
    public var text: TextMetricsReport?
    public var fields: FieldMetricsReport?
    public var errors: ErrorAnalysisReport?
    public var latex: LaTeXReport?
    public var options: ScoreConfiguration

    enum CodingKeys: String, CodingKey { case count, fields, errors, latex, options, cer }

    public init(count: Int, text: TextMetricsReport?, fields: FieldMetricsReport?,
                errors: ErrorAnalysisReport?, latex: LaTeXReport?, options: ScoreConfiguration) {
        self.count = count
        self.text = text
        self.fields = fields
        self.errors = errors
        self.latex = latex
        self.options = options
    }

    public func encode(to encoder: Encoder) throws {
        if let text { try text.encode(to: encoder) }
        var container = encoder.container(keyedBy: CodingKeys.self)
        if text == nil { try container.encode(count, forKey: .count) }
        try container.encodeIfPresent(fields, forKey: .fields)
        try container.encodeIfPresent(errors, forKey: .errors)
        try container.encodeIfPresent(latex, forKey: .latex)
        try container.encode(options, forKey: .options)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int.self, forKey: .count)
        text = container.contains(.cer) ? try TextMetricsReport(from: decoder) : nil
        fields = try container.decodeIfPresent(FieldMetricsReport.self, forKey: .fields)
        errors = try container.decodeIfPresent(ErrorAnalysisReport.self, forKey: .errors)
        latex = try container.decodeIfPresent(LaTeXReport.self, forKey: .latex)
        options = try container.decode(ScoreConfiguration.self, forKey: .options)
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

// MARK: - Job

/// The logic of `ocrtune score`.
public enum ScoreJob {
    /// Reads `path` and scores it. Throws ``ScoreInputError`` for bad input.
    public static func run(path: String, configuration: ScoreConfiguration) throws -> ScoreReport {
        let records = try ScoreInput.read(path: path)
        if records.isEmpty { throw ScoreInputError.noRecords(file: path) }
        return run(records: records, configuration: configuration)
    }

    /// Scores records of one kind (text or fields; see ``ScoreInput``).
    public static func run(records: [ScoreRecord], configuration: ScoreConfiguration) -> ScoreReport {
        var textPairs: [TextPair] = []
        var fieldPairs: [FieldPair] = []
        for record in records {
            switch record {
            case let .text(pair): textPairs.append(pair)
            case let .fields(pair): fieldPairs.append(pair)
            }
        }
        if !fieldPairs.isEmpty {
            let fields = FieldMetrics.evaluate(fieldPairs, normalization: configuration.options.normalization)
            return ScoreReport(count: fieldPairs.count, text: nil, fields: fields, errors: nil, latex: nil,
                               options: configuration)
        }
        var scorer = TextScorer(options: configuration.options)
        var analyzer = configuration.errors.map { ErrorAnalyzer(topN: $0) }
        var samples: [SampleScore] = []
        samples.reserveCapacity(textPairs.count)
        for pair in textPairs {
            let reference = scorer.prepare(pair.reference)
            let prediction = scorer.prepare(pair.prediction)
            samples.append(scorer.score(reference: reference, prediction: prediction, id: pair.id))
            analyzer?.add(reference: reference.characters, prediction: prediction.characters)
        }
        let errors = analyzer?.report(vocabulary: scorer.preprocessor.characterVocabulary)
        let latex = configuration.latex
            ? LaTeXScorer.evaluate(textPairs, normalization: configuration.options.normalization) : nil
        return ScoreReport(count: samples.count, text: TextMetricsReport(samples: samples, bleuEffectiveOrder: configuration.options.bleuEffectiveOrder), fields: nil,
                           errors: errors, latex: latex, options: configuration)
    }
}
