// JinjaValue.swift — the values a chat template computes with, and how they
// print, compare and serialize the way Jinja2 (on Python) does.
//
// Strings compare by Unicode scalars, as Python `str` does (Swift `String`
// equality is canonical equivalence), and index by scalars too.

import Foundation

// MARK: - Public input values

/// A JSON-like value passed to a chat template: messages, tools, extra variables.
/// Objects keep their members in order (Jinja's `items()` and `tojson` follow it).
public enum TemplateValue: Equatable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    case object([(String, TemplateValue)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(elements) }

    /// Parses a JSON document (object member order is kept).
    public init(json data: Data) throws {
        self = TemplateValue(try JSONParser.parse(data))
    }

    init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(i)
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(items): self = .array(items.map(TemplateValue.init))
        case let .object(pairs): self = .object(pairs.map { ($0.0, TemplateValue($0.1)) })
        }
    }

    /// The member `key` of an object, nil otherwise.
    public subscript(key: String) -> TemplateValue? {
        guard case let .object(pairs) = self else { return nil }
        return pairs.last(where: { sameScalars($0.0, key) })?.1
    }

    public static func == (a: TemplateValue, b: TemplateValue) -> Bool {
        JinjaValue(a).isEqual(JinjaValue(b))
    }
}

// MARK: - Interpreter values

/// A mutable attribute bag made by `namespace(...)`; shared by reference.
final class JinjaNamespace {
    var attributes: [(String, JinjaValue)]
    init(_ attributes: [(String, JinjaValue)]) { self.attributes = attributes }

    subscript(name: String) -> JinjaValue? {
        attributes.last(where: { sameScalars($0.0, name) })?.1
    }

    func set(_ name: String, _ value: JinjaValue) {
        if let i = attributes.firstIndex(where: { sameScalars($0.0, name) }) {
            attributes[i].1 = value
        } else {
            attributes.append((name, value))
        }
    }
}

/// Positional and keyword arguments of a call.
struct JinjaArguments {
    var positional: [JinjaValue] = []
    var keyword: [(String, JinjaValue)] = []

    /// Argument `index`, or the keyword `name`, or nil.
    func value(_ index: Int, _ name: String) -> JinjaValue? {
        if index < positional.count { return positional[index] }
        return keyword.last(where: { $0.0 == name })?.1
    }
}

/// A built-in function, a bound method or a template macro.
struct JinjaCallable {
    let name: String
    let call: (JinjaArguments) throws -> JinjaValue
}

enum JinjaValue {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case object([(String, JinjaValue)])
    case namespace(JinjaNamespace)
    case callable(JinjaCallable)

    init(_ value: TemplateValue) {
        switch value {
        case .null: self = .none
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(i)
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(items): self = .array(items.map(JinjaValue.init))
        case let .object(pairs): self = .object(pairs.map { ($0.0, JinjaValue($0.1)) })
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        }
    }

    // MARK: Truth

    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .double(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .array(a): return !a.isEmpty
        case let .object(o): return !o.isEmpty
        case .namespace, .callable: return true
        }
    }

    // MARK: Equality and order

    func isEqual(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return sameScalars(a, b)
        case let (.array(a), .array(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEqual($1) }
        case let (.object(a), .object(b)):
            return a.count == b.count && a.allSatisfy { pair in
                b.contains { sameScalars($0.0, pair.0) && $0.1.isEqual(pair.1) }
            }
        case let (.namespace(a), .namespace(b)): return a === b
        default:
            if let x = numeric, let y = other.numeric { return x == y }
            return false
        }
    }

    /// Int, double or bool as a double (Python's numeric tower).
    var numeric: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// `<` as Python orders numbers, strings (by code point) and lists; nil when unordered.
    func isLess(than other: JinjaValue) -> Bool? {
        switch (self, other) {
        case let (.int(a), .int(b)): return a < b
        case let (.string(a), .string(b)): return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case let (.array(a), .array(b)):
            for (x, y) in zip(a, b) where !x.isEqual(y) { return x.isLess(than: y) }
            return a.count < b.count
        default:
            if let x = numeric, let y = other.numeric { return x < y }
            return nil
        }
    }

    // MARK: Printing

    /// `str(value)` as Python prints it; what `{{ value }}` outputs.
    var stringValue: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return repr
        }
    }

    /// `repr(value)`: lists and dicts print their items this way.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .double(d): return pythonFloat(d)
        case let .string(s): return pythonRepr(s)
        case let .array(a): return "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.map { pythonRepr($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case let .namespace(ns): return "<Namespace " + JinjaValue.object(ns.attributes).repr + ">"
        case let .callable(c): return "<function \(c.name)>"
        }
    }
}

// MARK: - Python formatting helpers

/// Equality by Unicode scalars, as Python compares `str`.
func sameScalars(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.elementsEqual(b.unicodeScalars)
}

/// `repr(float)`: shortest round-trip digits, Python's exponent form.
func pythonFloat(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
    var s = "\(d)"  // Swift's shortest representation, e.g. 1e-05, 1.5e+20
    if let e = s.firstIndex(of: "e") {
        var exponent = String(s[s.index(after: e)...])
        let sign = exponent.hasPrefix("-") ? "-" : "+"
        exponent = exponent.trimmingCharacters(in: CharacterSet(charactersIn: "+-"))
        if exponent.count < 2 { exponent = "0" + exponent }
        s = String(s[..<e]) + "e" + sign + exponent
    }
    return s
}

/// `repr(str)`: single quotes unless the text holds a single quote and no double quote.
func pythonRepr(_ s: String) -> String {
    let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
    var out = String(quote)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(scalar) == quote {
                out += "\\" + String(quote)
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                out += String(format: "\\x%02x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out.append(quote)
    return out
}

// MARK: - JSON output (`tojson`)

extension JinjaValue {
    /// `json.dumps(value, ensure_ascii=False, indent=indent)`, as transformers' `tojson` filter.
    func json(indent: Int?, sortKeys: Bool = false, level: Int = 0) throws -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) }
        let separator = indent == nil ? ", " : ","
        switch self {
        case .none, .undefined: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return pythonFloat(d)
        case let .string(s): return jsonQuote(s)
        case let .array(a):
            if a.isEmpty { return "[]" }
            let items = try a.map { try $0.json(indent: indent, sortKeys: sortKeys, level: level + 1) }
            return "[" + (newline ?? "") + items.joined(separator: separator + (newline ?? "")) + (closing ?? "") + "]"
        case let .object(o):
            if o.isEmpty { return "{}" }
            let pairs = sortKeys ? o.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } : o
            let items = try pairs.map {
                jsonQuote($0.0) + ": " + (try $0.1.json(indent: indent, sortKeys: sortKeys, level: level + 1))
            }
            return "{" + (newline ?? "") + items.joined(separator: separator + (newline ?? "")) + (closing ?? "") + "}"
        case let .namespace(ns): return try JinjaValue.object(ns.attributes).json(indent: indent, sortKeys: sortKeys, level: level)
        case .callable: throw JinjaFailure("Object of type function is not JSON serializable")
        }
    }
}

/// A JSON string literal with Python's escapes (`ensure_ascii=False`).
func jsonQuote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// An evaluation error without a location yet; the interpreter adds the template position.
struct JinjaFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
