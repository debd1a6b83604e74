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
    /// WER and BLEU count each character of a script written without spaces (Chinese, Japanese)
    /// as a word, as sacreBLEU's `zh` tokenizer does; off, a whole Chinese line is one word (jiwer).
    public var splitUnspacedScripts: Bool
    /// BLEU averages only the n-gram orders the hypotheses have (sacreBLEU's
    /// `use_effective_order`); off, a corpus of lines under 4 tokens scores 0 even when exact.
    public var bleuEffectiveOrder: Bool

    public init(
        unit: TextUnit = .grapheme,
        normalization: UnicodeNormalization = .nfc,
        ignoreCase: Bool = false,
        ignoreWhitespace: Bool = false,
        ignorePunctuation: Bool = false,
        splitUnspacedScripts: Bool = true,
        bleuEffectiveOrder: Bool = true
    ) {
        self.unit = unit
        self.normalization = normalization
        self.ignoreCase = ignoreCase
        self.ignoreWhitespace = ignoreWhitespace
        self.ignorePunctuation = ignorePunctuation
        self.splitUnspacedScripts = splitUnspacedScripts
        self.bleuEffectiveOrder = bleuEffectiveOrder
    }

    /// The defaults: grapheme clusters, NFC, nothing ignored.
    public static let `default` = MetricOptions()

    /// Code points, no normalization, jiwer's words and sacreBLEU's defaults: with these options
    /// `cer` and `wer` equal `jiwer.cer` / `jiwer.wer` (jiwer 4.0 default transforms) and `bleu`
    /// equals `sacrebleu.corpus_bleu` exactly.
    public static let jiwerCompatible = MetricOptions(
        unit: .codepoint, normalization: .none, splitUnspacedScripts: false, bleuEffectiveOrder: false)

    enum CodingKeys: String, CodingKey {
        case unit
        case normalization
        case ignoreCase = "ignore_case"
        case ignoreWhitespace = "ignore_whitespace"
        case ignorePunctuation = "ignore_punctuation"
        case splitUnspacedScripts = "split_unspaced_scripts"
        case bleuEffectiveOrder = "bleu_effective_order"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MetricOptions()
        unit = try c.decodeIfPresent(TextUnit.self, forKey: .unit) ?? d.unit
        normalization = try c.decodeIfPresent(UnicodeNormalization.self, forKey: .normalization) ?? d.normalization
        ignoreCase = try c.decodeIfPresent(Bool.self, forKey: .ignoreCase) ?? d.ignoreCase
        ignoreWhitespace = try c.decodeIfPresent(Bool.self, forKey: .ignoreWhitespace) ?? d.ignoreWhitespace
        ignorePunctuation = try c.decodeIfPresent(Bool.self, forKey: .ignorePunctuation) ?? d.ignorePunctuation
        splitUnspacedScripts = try c.decodeIfPresent(Bool.self, forKey: .splitUnspacedScripts) ?? d.splitUnspacedScripts
        bleuEffectiveOrder = try c.decodeIfPresent(Bool.self, forKey: .bleuEffectiveOrder) ?? d.bleuEffectiveOrder
    }
}
