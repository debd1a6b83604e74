// Text sources: corpus files (one sample a line), random word sequences from a word list
// (including hunspell/myspell dictionaries), fortune files, and built-in field generators.

import Foundation

// MARK: Protocol

/// Gives the text of sample `index`. Must depend only on `index` and `rng` (deterministic).
public protocol TextSource: Sendable {
    /// A short description for the generator parameters.
    var name: String { get }
    /// The natural number of samples (a file's lines), or nil for endless generators.
    var naturalCount: Int? { get }
    func text(at index: Int, rng: inout SynthRandom) -> String
}

// MARK: Loading

public enum CorpusLoader {
    /// Non-empty lines of a UTF-8 text file, trimmed. Throws naming the file and line of the
    /// first invalid byte sequence.
    public static func lines(file: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else { throw SynthError.corpus(file: file, line: 0, message: "cannot read file") }
        guard let text = String(data: data, encoding: .utf8) else {
            // Find the first undecodable line to name it.
            var lineNo = 1
            for chunk in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
                if String(data: Data(chunk), encoding: .utf8) == nil { break }
                lineNo += 1
            }
            throw SynthError.corpus(file: file, line: lineNo, message: "not valid UTF-8")
        }
        // Split on bytes (fast on multi-megabyte dictionaries), then trim each line.
        var out: [String] = []
        for raw in text.utf8.split(separator: 0x0A) {
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { out.append(trimmed) }
        }
        return out
    }

    /// Words of a hunspell/myspell `.dic` (first line is the count; `word/FLAGS` loses its flags;
    /// morphological fields after a tab or space are dropped).
    public static func hunspellWords(file: String) throws -> [String] {
        var lines = try self.lines(file: file)
        if let first = lines.first, Int(first) != nil { lines.removeFirst() }
        return lines.compactMap { line -> String? in
            var w = Substring(line)
            if let cut = w.firstIndex(where: { $0 == "\t" || $0 == " " }) { w = w[..<cut] }
            // A slash that is not escaped starts the flags.
            if let slash = w.firstIndex(of: "/"), slash != w.startIndex { w = w[..<slash] }
            let word = String(w)
            return word.isEmpty ? nil : word
        }
    }

    /// Text lines of a fortune file: `%` separators and ANSI color escapes removed, lines shorter
    /// than `minLength` characters dropped.
    public static func fortuneLines(file: String, minLength: Int = 2) throws -> [String] {
        let escape = try NSRegularExpression(pattern: "\u{1B}\\[[0-9;]*m")
        return try lines(file: file).compactMap { line in
            let range = NSRange(line.startIndex..., in: line)
            let clean = escape.stringByReplacingMatches(in: line, range: range, withTemplate: "")
                .trimmingCharacters(in: .whitespaces)
            return clean == "%" || clean.count < minLength ? nil : clean
        }
    }

    /// Loads a corpus by its form: `.dic` → hunspell words; a fortune file (has `%` lines) →
    /// fortune lines; otherwise lines.
    public static func load(file: String) throws -> [String] {
        if file.hasSuffix(".dic") { return try hunspellWords(file: file) }
        let lines = try self.lines(file: file)
        if lines.contains("%") || lines.contains(where: { $0.contains("\u{1B}[") }) { return try fortuneLines(file: file) }
        return lines
    }
}

// MARK: Sources

/// Sample i is line i (cycling), or a random line when `shuffle`.
public struct LineCorpus: TextSource {
    public let lines: [String]
    public let name: String
    public var shuffle: Bool

    public init(lines: [String], name: String = "lines", shuffle: Bool = false) {
        precondition(!lines.isEmpty, "LineCorpus: no lines")
        self.lines = lines
        self.name = name
        self.shuffle = shuffle
    }

    public var naturalCount: Int? { lines.count }

    public func text(at index: Int, rng: inout SynthRandom) -> String {
        shuffle ? lines[rng.int(0, lines.count - 1)] : lines[index % lines.count]
    }
}

/// Random sequences of `words` words from a list, joined by `separator`.
public struct WordCorpus: TextSource {
    public let words: [String]
    public let length: ClosedRange<Int>
    public let separator: String
    public let name: String

    public init(words: [String], length: ClosedRange<Int> = 1...5, separator: String = " ", name: String = "words") {
        precondition(!words.isEmpty, "WordCorpus: no words")
        self.words = words
        self.length = length
        self.separator = separator
        self.name = name
    }

    public var naturalCount: Int? { nil }

    public func text(at index: Int, rng: inout SynthRandom) -> String {
        let n = rng.int(length.lowerBound, length.upperBound)
        return (0..<n).map { _ in words[rng.int(0, words.count - 1)] }.joined(separator: separator)
    }
}

// MARK: Field generators

/// Built-in generators of structured strings: dates, amounts, IDs, invoice-like lines.
public struct FieldGenerator: TextSource {
    public enum Kind: String, CaseIterable, Sendable {
        case date, amount, id, invoice, mixed
    }

    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var name: String { "generator:\(kind.rawValue)" }
    public var naturalCount: Int? { nil }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let items = ["Paper A4", "Toner cartridge", "Consulting", "Shipping", "Coffee beans", "USB cable",
                        "Desk lamp", "Service fee", "Notebook", "Printer repair", "Software license", "Stapler"]
    static let currencies = ["$", "€", "£", "¥", "CHF ", ""]

    public func text(at index: Int, rng: inout SynthRandom) -> String {
        switch kind {
        case .date: return Self.date(&rng)
        case .amount: return Self.amount(&rng)
        case .id: return Self.identifier(&rng)
        case .invoice: return Self.invoiceLine(&rng)
        case .mixed:
            let kinds: [Kind] = [.date, .amount, .id, .invoice]
            return FieldGenerator(kinds[rng.int(0, 3)]).text(at: index, rng: &rng)
        }
    }

    public static func date(_ rng: inout SynthRandom) -> String {
        let y = rng.int(1990, 2030), m = rng.int(1, 12), d = rng.int(1, 28)
        switch rng.int(0, 4) {
        case 0: return String(format: "%04d-%02d-%02d", y, m, d)
        case 1: return String(format: "%02d/%02d/%04d", d, m, y)
        case 2: return String(format: "%02d.%02d.%04d", d, m, y)
        case 3: return "\(d) \(months[m - 1]) \(y)"
        default: return "\(months[m - 1]) \(d), \(y)"
        }
    }

    public static func amount(_ rng: inout SynthRandom) -> String {
        let cents = rng.int(0, 99), whole = rng.int(0, rng.chance(0.3) ? 99999 : 999)
        let cur = currencies[rng.int(0, currencies.count - 1)]
        let grouped = whole >= 1000 ? "\(whole / 1000),\(String(format: "%03d", whole % 1000))" : "\(whole)"
        return "\(cur)\(grouped).\(String(format: "%02d", cents))"
    }

    public static func identifier(_ rng: inout SynthRandom) -> String {
        let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")
        let prefix = String((0..<rng.int(2, 3)).map { _ in letters[rng.int(0, letters.count - 1)] })
        let digits = String((0..<rng.int(4, 8)).map { _ in Character(String(rng.int(0, 9))) })
        return rng.chance(0.5) ? "\(prefix)-\(digits)" : "\(prefix)\(digits)"
    }

    public static func invoiceLine(_ rng: inout SynthRandom) -> String {
        let qty = rng.int(1, 12)
        let item = items[rng.int(0, items.count - 1)]
        let unit = Double(rng.int(100, 99999)) / 100
        return "\(qty) × \(item)  " + String(format: "%.2f  %.2f", unit, unit * Double(qty))
    }
}
