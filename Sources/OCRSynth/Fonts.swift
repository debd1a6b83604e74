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
