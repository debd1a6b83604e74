// Fonts: resolving families and font files through fontconfig, and per-sample glyph coverage.

import CRender
import Foundation

// MARK: Errors

/// Errors of the synthesis library; each names the file (and line) or font involved.
public enum SynthError: Error, CustomStringConvertible, Equatable {
    case fontNotFound(String)
    case fontFile(String)
    case corpus(file: String, line: Int, message: String)
    case io(String)
    case render(String)
    case config(String)

    public var description: String {
        switch self {
        case let .fontNotFound(name): return "font family '\(name)' is not installed (see fc-list : family)"
        case let .fontFile(message): return message
        case let .corpus(file, line, message): return line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
        case let .io(message): return message
        case let .render(message): return message
        case let .config(message): return message
        }
    }
}

// MARK: Font library

/// One usable font: a family name Pango can select, its file, and its character coverage.
public final class SynthFont: @unchecked Sendable {
    /// The family name given to Pango (exact, fallback disabled).
    public let family: String
    /// The file of the regular face (informational).
    public let file: String
    fileprivate let charset: OpaquePointer

    fileprivate init(family: String, file: String, charset: OpaquePointer) {
        self.family = family
        self.file = file
        self.charset = charset
    }

    deinit { crender_charset_close(charset) }

    /// Whether the font has a glyph for every character of `text` (whitespace and format
    /// characters aside). On `false`, `missing` is the first code point without a glyph.
    public func covers(_ text: String) -> (covered: Bool, missing: Unicode.Scalar?) {
        var missing: UInt32 = 0
        let ok = text.withCString { crender_charset_covers(charset, $0, &missing) } == 1
        return (ok, ok ? nil : Unicode.Scalar(missing))
    }
}

/// The fonts of a run, resolved once (read-only afterwards, so shared across threads).
public final class FontLibrary: @unchecked Sendable {
    public let fonts: [SynthFont]

    /// Resolves each spec: a path to a font file (registered with fontconfig for this process) or
    /// an installed family name (exact match, case-insensitive).
    public init(specs: [String]) throws {
        var err = [CChar](repeating: 0, count: 512)
        guard crender_init(&err, err.count) == 0 else { throw SynthError.render(String(cString: err)) }
        var fonts: [SynthFont] = []
        for spec in specs {
            var family = spec
            if spec.contains("/") || FileManager.default.fileExists(atPath: spec) {
                guard FileManager.default.fileExists(atPath: spec) else { throw SynthError.fontFile("\(spec): no such font file") }
                var name = [CChar](repeating: 0, count: 512)
                guard crender_register_font_file(spec, &name, name.count, &err, err.count) == 0 else {
                    throw SynthError.fontFile(String(cString: err))
                }
                family = String(cString: name)
            }
            var file = [CChar](repeating: 0, count: 4096)
            guard crender_family_lookup(family, &file, file.count) == 1, let cs = crender_charset_open(family) else {
                throw SynthError.fontNotFound(family)
            }
            if fonts.contains(where: { $0.family == family }) { continue }
            fonts.append(SynthFont(family: family, file: String(cString: file), charset: cs))
        }
        guard !fonts.isEmpty else { throw SynthError.config("no fonts given") }
        self.fonts = fonts
    }

    /// The fonts that cover every character of `text`, in library order.
    public func covering(_ text: String) -> [SynthFont] { fonts.filter { $0.covers(text).covered } }

    /// Whether a family is installed (exact name, case-insensitive).
    public static func isInstalled(_ family: String) -> Bool {
        crender_family_lookup(family, nil, 0) == 1
    }
}

// MARK: Selection by language

/// Picks fonts by script: every installed family fontconfig lists for a language, less the
/// excluded ones, kept when it has glyphs for (almost) all of a corpus's characters.
public enum FontSelection {
    /// A family and the share of the corpus's characters (counted with repetition) it covers.
    public struct Candidate: Equatable, Sendable {
        public let family: String
        public let coverage: Double
    }

    /// The installed families whose language set includes `language` (fa, ar, zh-cn, ...), sorted.
    public static func families(forLanguage language: String) throws -> [String] {
        var err = [CChar](repeating: 0, count: 512)
        guard crender_init(&err, err.count) == 0 else { throw SynthError.render(String(cString: err)) }
        var capacity = 1 << 14
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let n = crender_families_for_language(language, &buffer, capacity)
            if n == -2 { capacity *= 4; continue }
            guard n >= 0 else { throw SynthError.config("fontconfig could not list the fonts for language '\(language)'") }
            return String(cString: buffer).split(separator: "\n").map(String.init)
        }
    }

    /// Character counts of a corpus (whitespace aside), the input of `select`.
    public static func characterCounts<S: Sequence>(of texts: S) -> [Character: Int] where S.Element == String {
        var counts: [Character: Int] = [:]
        for text in texts { for c in text where !c.isWhitespace { counts[c, default: 0] += 1 } }
        return counts
    }

    /// The families for `languages` less `exclude` (names compared case-insensitively), each with
    /// its coverage of `characters`; `kept` are those covering at least `minimumCoverage` (all of
    /// them when `characters` is empty), `dropped` the others. Throws when a language has no
    /// installed family or when an excluded name matches none of them (a typo would otherwise
    /// leak a held-out font into training).
    public static func select(
        languages: [String], exclude: [String], characters: [Character: Int], minimumCoverage: Double = 0.99
    ) throws -> (kept: [Candidate], dropped: [Candidate]) {
        var families: [String] = []
        for language in languages {
            let found = try Self.families(forLanguage: language)
            guard !found.isEmpty else { throw SynthError.config("no installed font for language '\(language)' (see fc-list :lang=\(language) family)") }
            for f in found where !families.contains(f) { families.append(f) }
        }
        let excluded = Set(exclude.map { $0.lowercased() })
        let unknown = exclude.filter { name in !families.contains { $0.lowercased() == name.lowercased() } }
        if !unknown.isEmpty {
            throw SynthError.config("--exclude-font \(unknown.joined(separator: ", ")): not among the fonts for \(languages.joined(separator: ", ")) (\(families.joined(separator: ", ")))")
        }
        let total = characters.values.reduce(0, +)
        var kept: [Candidate] = []
        var dropped: [Candidate] = []
        for family in families where !excluded.contains(family.lowercased()) {
            let library = try FontLibrary(specs: [family])
            guard let font = library.fonts.first else { continue }
            let covered = total == 0 ? 1 : Double(characters.reduce(0) { $0 + (font.covers(String($1.key)).covered ? $1.value : 0) }) / Double(total)
            let candidate = Candidate(family: family, coverage: covered)
            if covered >= minimumCoverage { kept.append(candidate) } else { dropped.append(candidate) }
        }
        return (kept, dropped)
    }
}
