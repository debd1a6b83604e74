import Foundation

// MARK: - Text unit

/// The unit that character-level metrics (CER, NED, exact match, character
/// precision/recall/F1, error analysis) count.
public enum TextUnit: String, Codable, Sendable, CaseIterable {
    /// An extended grapheme cluster (a Swift `Character`, a user-perceived
    /// character): "👍🏽" is one unit, "e\u{301}" is one unit.
    case grapheme
    /// A Unicode code point (a Swift `Unicode.Scalar`, one element of a Python
    /// `str`): "👍🏽" is two units, "e\u{301}" is two units. This is what jiwer counts.
    case codepoint
}

// MARK: - Unicode normalization

/// The Unicode normalization form applied to both reference and prediction
/// before any comparison.
public enum UnicodeNormalization: String, Codable, Sendable, CaseIterable {
    /// Canonical composition (NFC). Canonically equivalent spellings compare equal.
    case nfc
    /// Compatibility composition (NFKC): additionally folds compatibility
    /// characters ("ﬁ" → "fi", "①" → "1", full-width "Ａ" → "A").
    case nfkc
    /// No normalization: strings are compared code point by code point.
    case none
}

// MARK: - Options

/// Options shared by all text metrics. The pipeline applied to every string,
/// reference and prediction alike, is, in this order:
///
/// 1. Unicode normalization (`normalization`).
/// 2. Full Unicode case folding when `ignoreCase` ("Straße" → "strasse"),
///    followed by the same normalization form again.
/// 3. Removal of punctuation when `ignorePunctuation`: every grapheme cluster
///    whose first code point has General_Category P* (Pc, Pd, Ps, Pe, Pi, Pf,
///    Po) or is one of the ASCII symbols `$ + < = > ^ ` | ~` (so that all of
///    Python's `string.punctuation` is covered).
///
/// The result is the *word text*, used by WER and BLEU. The *character units*
/// used by CER, NED, exact match and character P/R/F1 are then taken from the
/// word text with leading and trailing whitespace removed (as jiwer does) and,
/// when `ignoreWhitespace`, with every whitespace code point removed.
/// "Whitespace" means exactly the code points for which Python's
/// `str.isspace()` is true (see ``TextPreprocessor/isWhitespace(_:)``).
public struct MetricOptions: Codable, Sendable, Hashable {
    /// Unit of the character-level metrics. Default: ``TextUnit/grapheme``.
    public var unit: TextUnit
    /// Unicode normalization form. Default: ``UnicodeNormalization/nfc``.
    public var normalization: UnicodeNormalization
    /// Fold case (full Unicode case folding) before comparing.
    public var ignoreCase: Bool
    /// Remove all whitespace before the character-level metrics. Word-level
    /// metrics (WER, BLEU) are not affected: they need the word boundaries.
    public var ignoreWhitespace: Bool
    /// Remove punctuation (see the type's documentation) before all metrics.
    public var ignorePunctuation: Bool

    public init(
        unit: TextUnit = .grapheme,
        normalization: UnicodeNormalization = .nfc,
        ignoreCase: Bool = false,
        ignoreWhitespace: Bool = false,
        ignorePunctuation: Bool = false
    ) {
        self.unit = unit
        self.normalization = normalization
        self.ignoreCase = ignoreCase
        self.ignoreWhitespace = ignoreWhitespace
        self.ignorePunctuation = ignorePunctuation
    }

    /// The defaults: grapheme clusters, NFC, nothing ignored.
    public static let `default` = MetricOptions()

    /// Code points and no normalization: with these options `cer` and `wer`
    /// equal `jiwer.cer` / `jiwer.wer` (jiwer 4.0 default transforms) exactly.
    public static let jiwerCompatible = MetricOptions(unit: .codepoint, normalization: .none)

    enum CodingKeys: String, CodingKey {
        case unit
        case normalization
        case ignoreCase = "ignore_case"
        case ignoreWhitespace = "ignore_whitespace"
        case ignorePunctuation = "ignore_punctuation"
    }
}
