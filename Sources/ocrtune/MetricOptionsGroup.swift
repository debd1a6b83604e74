// Metric definition flags shared by `score` and `eval`.

import ArgumentParser
import OCRMetrics

struct MetricOptionsGroup: ParsableArguments {
    enum UnitOption: String, ExpressibleByArgument, CaseIterable {
        case grapheme, codepoint
    }

    enum NormalizationOption: String, ExpressibleByArgument, CaseIterable {
        case nfc, nfkc, none
    }

    @Option(help: "Unit of character metrics: grapheme (user-perceived character) or codepoint.")
    var unit: UnitOption = .grapheme

    @Option(help: "Unicode normalization applied before comparing: nfc, nfkc or none.")
    var normalize: NormalizationOption = .nfc

    @Flag(help: "Same as --normalize none.")
    var noNormalize = false

    @Flag(help: "Fold case before comparing.")
    var ignoreCase = false

    @Flag(help: "Remove all whitespace before character metrics (WER/BLEU keep word boundaries).")
    var ignoreWhitespace = false

    @Flag(help: "Remove punctuation (Unicode P* and ASCII symbols) before all metrics.")
    var ignorePunctuation = false

    func validate() throws {
        if noNormalize && normalize != .nfc && normalize != .none {
            throw ValidationError("--no-normalize conflicts with --normalize \(normalize.rawValue)")
        }
    }

    /// The metric definitions these flags select.
    var options: MetricOptions {
        MetricOptions(
            unit: unit == .grapheme ? .grapheme : .codepoint,
            normalization: noNormalize ? .none : UnicodeNormalization(rawValue: normalize.rawValue) ?? .nfc,
            ignoreCase: ignoreCase,
            ignoreWhitespace: ignoreWhitespace,
            ignorePunctuation: ignorePunctuation)
    }
}
