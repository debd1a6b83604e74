// A TOML subset for run configurations: tables, arrays of tables, strings, integers,
// floats, booleans and arrays of those. Enough to write a resolved config and read it back
// (or a hand-written one) with errors that name the line.

import Foundation

public struct TOMLError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }
}

public enum TOML {
    // MARK: Encoding

    /// Encodes a JSON-like dictionary (strings, numbers, bools, arrays, nested dictionaries).
    public static func encode(_ object: [String: Any]) -> String {
        var out = ""
        writeTable(object, path: [], into: &out)
        return out
    }

    private static func writeTable(_ table: [String: Any], path: [String], into out: inout String) {
        let keys = table.keys.sorted()
        let isTable = { (v: Any) in v is [String: Any] }
        let isTableArray = { (v: Any) in (v as? [Any]).map { !$0.isEmpty && $0.allSatisfy(isTable) } ?? false }
        for key in keys where !isTable(table[key]!) && !isTableArray(table[key]!) {
            out += "\(quoteKey(key)) = \(value(table[key]!))\n"
        }
        // `path` holds the keys quoted: each is quoted once, not again in every header below it.
        for key in keys where isTable(table[key]!) {
            let sub = path + [quoteKey(key)]
            out += "\n[\(sub.joined(separator: "."))]\n"
            writeTable(table[key] as! [String: Any], path: sub, into: &out)
        }
        for key in keys where isTableArray(table[key]!) {
            let sub = path + [quoteKey(key)]
            for element in table[key] as! [Any] {
                out += "\n[[\(sub.joined(separator: "."))]]\n"
                writeTable(element as! [String: Any], path: sub, into: &out)
            }
        }
    }

    private static func quoteKey(_ key: String) -> String {
        // TOML's bare keys are ASCII (A-Za-z0-9_-); anything else is quoted. (A bare key starting with a
        // combining mark joined the `[` of its table header into one Character; found by Fuzz/toml.)
        let bare = key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
        return bare && !key.isEmpty ? key : quote(key)
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7F || (u.value > 0x7F && joinsAQuote(u)) {
                    let hex = String(u.value, radix: 16, uppercase: true)
                    let width = u.value > 0xFFFF ? 8 : 4
                    out += (width == 8 ? "\\U" : "\\u") + String(repeating: "0", count: width - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// Whether `u` would make one Character of the quote beside it (a combining mark after the
    /// opening quote or an escape, a prepended mark before the closing quote): the reader, which
    /// scans Characters, would miss the quote. Such scalars are written as escapes (found by Fuzz/toml).
    private static func joinsAQuote(_ u: Unicode.Scalar) -> Bool {
        let s = String(u)
        return ("\"" + s).count != 2 || (s + "\"").count != 2
    }

    private static func value(_ v: Any) -> String {
        var out = ""
        writeValue(v, into: &out)
        return out
    }

    /// Arrays and strings are matched before `NSNumber`: casting an array to `NSNumber` bridged it
    /// (nested arrays included) to an NSArray first, and the text was rebuilt at every level, both
    /// quadratic in the nesting (`a = [[[…]]]`, found by Fuzz/toml).
    private static func writeValue(_ v: Any, into out: inout String) {
        switch v {
        case let a as [Any]:
            out += "["
            for (i, element) in a.enumerated() {
                if i > 0 { out += ", " }
                writeValue(element, into: &out)
            }
            out += "]"
        case let s as String: out += quote(s)
        case let n as NSNumber:
            // Foundation boxes JSON booleans as NSNumbers of type "c"; 0 and 1 also cast to Bool,
            // so the boxed type decides.
            let type = String(cString: n.objCType)
            if type == "c" || type == "B" { out += n.boolValue ? "true" : "false"; return }
            if type == "d" || type == "f" {
                let d = n.doubleValue
                if d.isNaN { out += "nan"; return }
                if d.isInfinite { out += d > 0 ? "inf" : "-inf"; return }
                let s = "\(d)"
                out += s.contains(".") || s.contains("e") ? s : s + ".0"
                return
            }
            out += "\(n.int64Value)"
        case let b as Bool: out += b ? "true" : "false"
        default: out += quote("\(v)")
        }
    }

    // MARK: Decoding

    /// How deep tables (keys of a path) and arrays may nest. Each `[table]` header spells its whole
    /// path, so what `encode` writes grows with the square of the nesting: a 4 KB file of 2,000
    /// nested tables came back as 12 MB of headers (found by Fuzz/toml: over its 10 s limit).
    public static let maxNesting = 64

    public static func decode(_ text: String) throws -> [String: Any] {
        let root = Node()
        // The table that `key = value` lines go into, held by reference: finding it again from the
        // root for every line cost the nesting depth (and a copy of each table on the way) per line.
        var current = root
        var currentPath: [String] = []
        var lines = text.components(separatedBy: "\n")[...]
        var number = 0
        while let raw = lines.popFirst() {
            number += 1
            var line = trimmed(stripComment(raw))
            if line.isEmpty { continue }
            if line.hasPrefix("[[") {
                guard line.hasSuffix("]]") else { throw TOMLError(line: number, message: "unterminated [[table]] header") }
                currentPath = try parseKeyPath(String(line.dropFirst(2).dropLast(2)), line: number)
                current = try root.appendTable(currentPath, line: number)
                continue
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw TOMLError(line: number, message: "unterminated [table] header") }
                currentPath = try parseKeyPath(String(line.dropFirst().dropLast()), line: number)
                current = try root.header(currentPath, line: number)
                continue
            }
            // A multi-line array continues until its brackets balance (counted as the lines come,
            // not over the joined text again per line, which made a long array quadratic).
            var brackets = BracketScan()
            brackets.read(line)
            while brackets.depth > 0, let next = lines.popFirst() {
                number += 1
                let piece = " " + trimmed(stripComment(next))
                brackets.read(piece)
                line += piece
            }
            guard let eq = indexOfEquals(line) else { throw TOMLError(line: number, message: "expected key = value") }
            let keyPath = try parseKeyPath(String(line[..<eq]), line: number)
            guard currentPath.count + keyPath.count <= maxNesting else {
                throw TOMLError(line: number, message: "keys nested deeper than \(maxNesting) tables")
            }
            var scanner = Substring(line[line.index(after: eq)...]).drop { $0 == " " || $0 == "\t" }
            let v = try parseValue(&scanner, line: number)
            guard trimmed(scanner).isEmpty else {
                throw TOMLError(line: number, message: "unexpected text after the value: \(scanner)")
            }
            try current.table(keyPath.dropLast(), line: number).set(keyPath.last!, v, path: currentPath + keyPath, line: number)
        }
        return root.dictionary
    }

    private static func stripComment(_ s: String) -> String {
        var inString: Character? = nil
        var escaped = false
        for (i, c) in zip(s.indices, s) {
            if let q = inString {
                if escaped { escaped = false } else if c == "\\" && q == "\"" { escaped = true } else if c == q { inString = nil }
            } else if c == "\"" || c == "'" {
                inString = c
            } else if c == "#" {
                return String(s[..<i])
            }
        }
        return s
    }

    /// The bracket balance of a value's text read so far: `[` opens, `]` closes, outside strings.
    private struct BracketScan {
        var depth = 0
        var inString: Character? = nil
        var escaped = false

        mutating func read(_ s: String) {
            for c in s {
                if let q = inString {
                    if escaped { escaped = false } else if c == "\\" && q == "\"" { escaped = true } else if c == q { inString = nil }
                } else if c == "\"" || c == "'" { inString = c } else if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
            }
        }
    }

    /// `s` without the whitespace around it, the scalars Foundation's `CharacterSet.whitespaces`
    /// holds on Linux (tab, the space separators, U+200B), trimmed in Swift: Foundation's
    /// `trimmingCharacters` bridged every line through NSString.
    private static func trimmed(_ s: String) -> String { trimmed(Substring(s)) }

    private static func trimmed(_ s: Substring) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isBlank($0) }),
              let last = scalars.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(Substring(scalars[first...last]))
    }

    private static func isBlank(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    private static func indexOfEquals(_ s: String) -> String.Index? {
        var inString: Character? = nil
        var escaped = false
        for (i, c) in zip(s.indices, s) {
            if let q = inString {
                // `"a\"b" = 1`: an escaped quote does not end a basic string (found by Fuzz/toml).
                if escaped { escaped = false } else if c == "\\" && q == "\"" { escaped = true } else if c == q { inString = nil }
            } else if c == "\"" || c == "'" { inString = c } else if c == "=" { return i }
        }
        return nil
    }

    private static func parseKeyPath(_ s: String, line: Int) throws -> [String] {
        var parts: [String] = []
        var scanner = Substring(trimmed(s))
        while !scanner.isEmpty {
            if scanner.first == "\"" || scanner.first == "'" {
                guard let v = try parseValue(&scanner, line: line) as? String else { throw TOMLError(line: line, message: "bad quoted key") }
                parts.append(v)
            } else {
                let key = scanner.prefix { $0 != "." && $0 != " " }
                guard !key.isEmpty else { throw TOMLError(line: line, message: "empty key") }
                parts.append(String(key))
                scanner = scanner.dropFirst(key.count)
            }
            scanner = scanner.drop { $0 == " " }
            if scanner.first == "." { scanner = scanner.dropFirst().drop { $0 == " " } }
        }
        guard !parts.isEmpty else { throw TOMLError(line: line, message: "empty key") }
        guard parts.count <= maxNesting else { throw TOMLError(line: line, message: "keys nested deeper than \(maxNesting) tables") }
        return parts
    }

    private static func parseValue(_ s: inout Substring, line: Int, depth: Int = 0) throws -> Any {
        guard let first = s.first else { throw TOMLError(line: line, message: "missing value") }
        if first == "\"" {
            s = s.dropFirst()
            var out = ""
            while let c = s.first {
                s = s.dropFirst()
                if c == "\"" { return out }
                if c == "\\" {
                    guard let e = s.first else { break }
                    s = s.dropFirst()
                    switch e {
                    case "n": out += "\n"
                    case "t": out += "\t"
                    case "r": out += "\r"
                    case "\"": out += "\""
                    case "\\": out += "\\"
                    case "u", "U":
                        let n = e == "u" ? 4 : 8
                        guard let code = UInt32(String(s.prefix(n)), radix: 16), let scalar = Unicode.Scalar(code) else {
                            throw TOMLError(line: line, message: "bad unicode escape")
                        }
                        out.unicodeScalars.append(scalar)
                        s = s.dropFirst(n)
                    default: throw TOMLError(line: line, message: "unknown escape \\\(e)")
                    }
                } else {
                    out.append(c)
                }
            }
            throw TOMLError(line: line, message: "unterminated string")
        }
        if first == "'" {
            s = s.dropFirst()
            guard let end = s.firstIndex(of: "'") else { throw TOMLError(line: line, message: "unterminated string") }
            let v = String(s[..<end])
            s = s[s.index(after: end)...]
            return v
        }
        if first == "[" {
            guard depth < maxNesting else { throw TOMLError(line: line, message: "arrays nested deeper than \(maxNesting)") }
            s = s.dropFirst()
            var items: [Any] = []
            while true {
                s = s.drop { $0 == " " || $0 == "\t" }
                if s.first == "]" { s = s.dropFirst(); return items }
                items.append(try parseValue(&s, line: line, depth: depth + 1))
                s = s.drop { $0 == " " || $0 == "\t" }
                if s.first == "," { s = s.dropFirst() } else if s.first != "]" { throw TOMLError(line: line, message: "expected , or ] in array") }
            }
        }
        let token = String(s.prefix { !" ,]\t".contains($0) })
        s = s.dropFirst(token.count)
        switch token {
        case "true": return true
        case "false": return false
        case "inf", "+inf": return Double.infinity
        case "-inf": return -Double.infinity
        case "nan", "+nan", "-nan": return Double.nan
        default:
            let clean = token.replacingOccurrences(of: "_", with: "")
            if let i = Int64(clean) { return i }
            if let d = Double(clean) { return d }
            throw TOMLError(line: line, message: "cannot read value \(token)")
        }
    }

    // MARK: Tree building

    /// A table while the text is read: a reference, so that the current table is held across lines.
    private final class Node {
        enum Entry {
            case value(Any)
            case table(Node)
            case tables([Node])  // an array of tables (`[[name]]`)
        }

        var entries: [String: Entry] = [:]

        /// The table at `path` below this one, made where missing. A path goes through an array of
        /// tables' last table (`[[a]]` then `[a.b]` or `a.b = 1`, as TOML specifies and as `encode`
        /// writes a table inside an array of tables).
        func table<C: Collection>(_ path: C, line: Int) throws -> Node where C.Element == String {
            var node = self
            for key in path {
                switch node.entries[key] {
                case nil:
                    let sub = Node()
                    node.entries[key] = .table(sub)
                    node = sub
                case .table(let sub)?: node = sub
                case .tables(let array)?: node = array[array.count - 1]
                case .value?: throw TOMLError(line: line, message: "\(key) is not a table")
                }
            }
            return node
        }

        /// `[path]`: the table at `path`, made where missing; an array of tables cannot be reopened so.
        func header(_ path: [String], line: Int) throws -> Node {
            let parent = try table(path.dropLast(), line: line)
            switch parent.entries[path.last!] {
            case nil:
                let sub = Node()
                parent.entries[path.last!] = .table(sub)
                return sub
            case .table(let sub)?: return sub
            case .tables?, .value?: throw TOMLError(line: line, message: "\(path.joined(separator: ".")) is not a table")
            }
        }

        /// `[[path]]`: a new table at the end of the array of tables at `path` (made where missing).
        func appendTable(_ path: [String], line: Int) throws -> Node {
            let parent = try table(path.dropLast(), line: line)
            let key = path.last!
            let sub = Node()
            switch parent.entries[key] {
            case nil: parent.entries[key] = .tables([sub])
            case .tables(var array)?:
                parent.entries[key] = nil  // the array uniquely referenced: appended in place
                array.append(sub)
                parent.entries[key] = .tables(array)
            case .table?, .value?:
                throw TOMLError(line: line, message: "\(path.joined(separator: ".")) is not an array of tables")
            }
            return sub
        }

        func set(_ key: String, _ value: Any, path: [String], line: Int) throws {
            guard entries[key] == nil else { throw TOMLError(line: line, message: "\(path.joined(separator: ".")) is set twice") }
            entries[key] = .value(value)
        }

        var dictionary: [String: Any] {
            entries.mapValues { entry -> Any in
                switch entry {
                case .value(let v): return v
                case .table(let node): return node.dictionary
                case .tables(let nodes): return nodes.map { $0.dictionary as Any }
                }
            }
        }
    }
}
