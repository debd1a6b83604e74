import Foundation

// MARK: - Exact string keys

/// A hashable wrapper that compares strings code point by code point.
///
/// Swift's `String ==` uses canonical equivalence ("é" == "e\u{301}"), which
/// would silently normalize; metrics must honour `normalization: .none`, so
/// every string-keyed table in this library uses this key instead.
public struct ScalarKey: Hashable, Sendable {
    public let string: String

    public init(_ string: String) { self.string = string }

    // UTF-8 is a bijection on code point sequences, so comparing and hashing
    // the UTF-8 bytes is comparing and hashing the code points.
    public static func == (lhs: ScalarKey, rhs: ScalarKey) -> Bool {
        var a = lhs.string
        var b = rhs.string
        return a.withUTF8 { x in
            b.withUTF8 { y in
                x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

// MARK: - Unit vocabulary

/// Maps text units (grapheme clusters, code points, words, tokens) to `Int`
/// ids so that edit distances run on integer sequences.
///
/// A unit made of exactly one code point gets that code point's value as id
/// (no hashing on the hot path); any other unit gets an id `>= 0x110000`.
/// Ids compare equal exactly when the units are equal code point by code point.
public struct UnitVocabulary: Sendable {
    /// First id handed out to multi-code-point units.
    public static let firstCompositeID = 0x11_0000

    private var ids: [ScalarKey: Int] = [:]
    private var composites: [String] = []

    public init() {}

    /// Number of distinct multi-code-point units seen so far.
    public var compositeCount: Int { composites.count }

    /// The id of `unit`, assigning a new one when the unit is new.
    public mutating func id(for unit: String) -> Int {
        var iterator = unit.unicodeScalars.makeIterator()
        if let first = iterator.next() {
            if iterator.next() == nil { return Int(first.value) }
        }
        let key = ScalarKey(unit)
        if let id = ids[key] { return id }
        let id = Self.firstCompositeID + composites.count
        ids[key] = id
        composites.append(unit)
        return id
    }

    /// The id of `character` (fast path for single-scalar characters).
    @inline(__always)
    public mutating func id(for character: Character) -> Int {
        let scalars = character.unicodeScalars
        if scalars.count == 1 { return Int(scalars.first!.value) }
        return id(for: String(character))
    }

    /// The unit behind `id` (the empty string for an unknown id).
    public func unit(for id: Int) -> String {
        if id >= 0, id < Self.firstCompositeID, let scalar = Unicode.Scalar(UInt32(id)) {
            return String(Character(scalar))
        }
        let index = id - Self.firstCompositeID
        return composites.indices.contains(index) ? composites[index] : ""
    }
}

// MARK: - Prepared text

/// A string after the option pipeline, split into the units the metrics use.
public struct PreparedText: Sendable, Equatable {
    /// The word text: after normalization, case folding and punctuation
    /// removal, before whitespace handling. WER and BLEU read this.
    public var text: String
    /// Character-unit ids (see ``UnitVocabulary``) of the character text.
    public var characters: [Int]
    /// Word ids of the jiwer-compatible words of ``text``.
    public var words: [Int]
}

// MARK: - Preprocessor

/// Applies ``MetricOptions`` to strings and cuts them into units.
public struct TextPreprocessor: Sendable {
    public let options: MetricOptions
    /// Vocabulary of character units (graphemes or code points).
    public private(set) var characterVocabulary = UnitVocabulary()
    /// Vocabulary of words.
    public private(set) var wordVocabulary = UnitVocabulary()

    public init(options: MetricOptions = .default) {
        self.options = options
    }

    /// Runs the whole pipeline on `string`.
    public mutating func prepare(_ string: String) -> PreparedText {
        let text = Self.normalize(string, options: options)
        let characters = characterUnits(ofNormalized: text)
        let words = Self.words(text, splittingUnspacedScripts: options.splitUnspacedScripts).map { wordVocabulary.id(for: String($0)) }
        return PreparedText(text: text, characters: characters, words: words)
    }

    /// The character-unit ids of `string` only (what CER needs; no words, no text).
    public mutating func characters(_ string: String) -> [Int] {
        characterUnits(ofNormalized: Self.normalize(string, options: options))
    }

    private mutating func characterUnits(ofNormalized text: String) -> [Int] {
        let characterText = Self.characterText(text, ignoreWhitespace: options.ignoreWhitespace)
        var characters: [Int] = []
        let scalars = characterText.unicodeScalars
        characters.reserveCapacity(characterText.utf8.count)
        if options.unit == .codepoint || scalars.allSatisfy({ Self.isSimpleScalar($0.value) }) {
            // Code points, or graphemes that are all single code points.
            for scalar in scalars { characters.append(Int(scalar.value)) }
        } else {
            for character in characterText { characters.append(characterVocabulary.id(for: character)) }
        }
        return characters
    }

    // MARK: Pipeline steps

    /// Steps 1–3 of the pipeline (normalization, case folding, punctuation
    /// removal); see ``MetricOptions``.
    public static func normalize(_ string: String, options: MetricOptions) -> String {
        var text = applyNormalization(string, options.normalization)
        if options.ignoreCase {
            text = applyNormalization(text.folding(options: [.caseInsensitive], locale: nil), options.normalization)
        }
        if options.ignorePunctuation {
            text = String(text.filter { !isPunctuation($0) })
        }
        return text
    }

    /// Applies a Unicode normalization form.
    public static func applyNormalization(_ string: String, _ form: UnicodeNormalization) -> String {
        if form == .none || string.utf8.allSatisfy({ $0 < 0x80 }) { return string }
        switch form {
        case .nfc:
            if string.unicodeScalars.allSatisfy({ isSimpleScalar($0.value) }) { return string }
            return string.precomposedStringWithCanonicalMapping
        case .nfkc: return string.precomposedStringWithCompatibilityMapping
        case .none: return string
        }
    }

    /// The character text of a word text: leading and trailing whitespace
    /// removed (Python `str.strip()`), and all whitespace removed when
    /// `ignoreWhitespace`.
    public static func characterText(_ text: String, ignoreWhitespace: Bool) -> String {
        let scalars = text.unicodeScalars
        if ignoreWhitespace {
            var view = String.UnicodeScalarView()
            for scalar in scalars where !isWhitespace(scalar.value) { view.append(scalar) }
            return String(view)
        }
        guard let first = scalars.firstIndex(where: { !isWhitespace($0.value) }) else { return "" }
        let last = scalars.lastIndex(where: { !isWhitespace($0.value) })!
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return text }
        return String(scalars[first...last])
    }

    /// Chinese characters as sacreBLEU's `zh` tokenizer recognizes them (`_is_chinese_char`: CJK
    /// ideographs and their extensions, compatibility ideographs, CJK symbols and punctuation,
    /// half- and full-width forms, but not U+3000, the ideographic space), plus Japanese kana:
    /// scripts written without spaces.
    public static func isUnspacedScriptCharacter(_ v: UInt32) -> Bool {
        (0x3400 ... 0x4DBF).contains(v) || (0x4E00 ... 0x9FFF).contains(v) || (0xF900 ... 0xFAFF).contains(v)
            || (0x20000 ... 0x2FA1F).contains(v) || (0x3001 ... 0x303F).contains(v) || (0xFF00 ... 0xFFEF).contains(v)
            || (0x3040 ... 0x30FF).contains(v) || (0x31F0 ... 0x31FF).contains(v)
    }

    /// The words WER counts: jiwer's (``jiwerWords(_:)``), or with `splittingUnspacedScripts` those
    /// of the text with every character of a script written without spaces (Chinese, Japanese;
    /// ``isUnspacedScriptCharacter(_:)``) between spaces, as sacreBLEU's `zh` tokenizer separates
    /// Chinese characters: a Chinese line is then not one "word" whose single error makes WER 100%.
    /// Text without such characters splits exactly as jiwer splits it either way.
    public static func words(_ text: String, splittingUnspacedScripts: Bool = false) -> [Substring] {
        guard splittingUnspacedScripts, text.unicodeScalars.contains(where: { isUnspacedScriptCharacter($0.value) }) else {
            return jiwerWords(text)
        }
        return jiwerWords(BLEU.separatingChinese(text))
    }

    /// jiwer 4.0's default word split (`wer_default`): every run of two or more
    /// whitespace code points becomes one space (`RemoveMultipleSpaces`, regex
    /// `\s\s+`), the ends are stripped (`Strip`), and the text is split on
    /// U+0020 only, dropping empty pieces (`ReduceToListOfListOfWords`).
    ///
    /// Consequently a *single* whitespace code point other than U+0020 (a lone
    /// tab, U+3000, NBSP) between two non-space characters does not separate
    /// words: "a\tb" is one word, "a\t\tb" and "a b" are two.
    public static func jiwerWords(_ text: String) -> [Substring] {
        let scalars = text.unicodeScalars
        var result: [Substring] = []
        var wordStart: String.UnicodeScalarView.Index? = nil
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let scalar = scalars[index]
            guard isWhitespace(scalar.value) else {
                if wordStart == nil { wordStart = index }
                index = scalars.index(after: index)
                continue
            }
            // A maximal run of whitespace starts here.
            var runEnd = scalars.index(after: index)
            var runLength = 1
            while runEnd != scalars.endIndex, isWhitespace(scalars[runEnd].value) {
                runEnd = scalars.index(after: runEnd)
                runLength += 1
            }
            let atEdge = wordStart == nil || runEnd == scalars.endIndex
            if runLength >= 2 || scalar.value == 0x20 || atEdge {
                if let start = wordStart {
                    result.append(Substring(scalars[start..<index]))
                    wordStart = nil
                }
            }
            index = runEnd
        }
        if let start = wordStart { result.append(Substring(scalars[start..<scalars.endIndex])) }
        return result
    }

    // MARK: Character classes

    /// Python's `str.isspace()` (identical to `\s` in Python's `re` for `str`
    /// patterns): Unicode White_Space plus U+001C–U+001F.
    @inline(__always)
    public static func isWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Fast-path test: `true` for code points that are starters (combining
    /// class 0) with NFC_Quick_Check = Yes, are never the second element of a
    /// canonical composition, and have Grapheme_Cluster_Break Other, Control,
    /// LF, LV or LVT (CR excluded). A string made only of such code points is
    /// already NFC and has one grapheme cluster per code point, so both
    /// Foundation's normalization and grapheme segmentation can be skipped.
    /// Covers Latin-1/Latin Extended, Greek, Cyrillic, Hebrew and Arabic
    /// letters, general punctuation, CJK symbols, kana, CJK ideographs, Hangul
    /// syllables and full-width forms. (Checked exhaustively against Python's
    /// `unicodedata` when written, and against Swift by `testSimpleScalarFastPath`.)
    @inline(__always)
    public static func isSimpleScalar(_ value: UInt32) -> Bool {
        switch value {
        case 0x00...0x0C, 0x0E...0x2FF, 0x388...0x3CE, 0x400...0x482, 0x5D0...0x5EA,
             0x621...0x64A, 0x660...0x66D, 0x671...0x6D3, 0x6F0...0x6F9,
             0x2010...0x2027, 0x2030...0x205E, 0x3000...0x3029, 0x3030...0x303F,
             0x3041...0x3096, 0x309B...0x30FF, 0x4E00...0x9FFF, 0xAC00...0xD7A3, 0xFF01...0xFF60:
            return true
        default:
            return false
        }
    }

    /// Whether a grapheme cluster counts as punctuation (see ``MetricOptions``).
    public static func isPunctuation(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x60, 0x7C, 0x7E: return true
        default: break
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
