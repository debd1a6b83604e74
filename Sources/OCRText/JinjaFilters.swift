// JinjaFilters.swift — Jinja2 filters and the Python `str` / `dict` methods
// chat templates call (`content.split('</think>')[0].rstrip('\n')`).

import Foundation

extension JinjaBuiltins {
    // MARK: Filters

    static func filter(_ name: String, _ v: JinjaValue, _ args: JinjaArguments) throws -> JinjaValue {
        func string(_ i: Int, _ key: String) throws -> String? {
            guard let a = args.value(i, key) else { return nil }
            guard case let .string(s) = a else { throw JinjaFailure("filter '\(name)' expects a string for '\(key)'") }
            return s
        }
        switch name {
        case "length", "count":
            switch v {
            case let .string(s): return .int(s.unicodeScalars.count)
            case let .array(a): return .int(a.count)
            case let .object(o): return .int(o.count)
            case .undefined: return .int(0)
            default: throw JinjaFailure("object of type '\(v.typeName)' has no len()")
            }
        case "string": return .string(v.stringValue)
        case "safe": return v
        case "trim": return .string(pythonStrip(try text(v, name), chars: try string(0, "chars"), left: true, right: true))
        case "upper": return .string(try text(v, name).uppercased())
        case "lower": return .string(try text(v, name).lowercased())
        case "capitalize": return .string(capitalize(try text(v, name)))
        case "title": return .string(titleCase(try text(v, name)))
        case "replace":
            guard let old = try string(0, "old"), let new = try string(1, "new") else {
                throw JinjaFailure("filter 'replace' takes two strings")
            }
            return .string(pythonReplace(v.stringValue, old, new))
        case "tojson":
            var indent: Int?
            if let i = args.value(0, "indent") {
                switch i {
                case let .int(n): indent = n
                case .none: indent = nil
                default: throw JinjaFailure("filter 'tojson' expects an integer indent")
                }
            }
            if args.value(2, "separators") != nil { throw JinjaFailure("filter 'tojson': 'separators' is not supported") }
            let sortKeys = args.value(3, "sort_keys")?.isTruthy ?? false
            return .string(try v.json(indent: indent, sortKeys: sortKeys))
        case "default", "d":
            let fallback = args.value(0, "default_value") ?? .string("")
            let boolean = args.value(1, "boolean")?.isTruthy ?? false
            return v.isUndefined || (boolean && !v.isTruthy) ? fallback : v
        case "items":
            switch v {
            case let .object(o): return .array(o.map { .array([.string($0.0), $0.1]) })
            case .undefined: return .array([])
            default: throw JinjaFailure("filter 'items' expects a mapping, got \(v.typeName)")
            }
        case "list": return .array(try iterate(v))
        case "first": return try iterate(v).first ?? .undefined("no first item, sequence was empty")
        case "last": return try iterate(v).last ?? .undefined("no last item, sequence was empty")
        case "reverse":
            if case let .string(s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try iterate(v).reversed())
        case "join":
            let separator = try string(0, "d") ?? ""
            var items = try iterate(v)
            if let attribute = try string(1, "attribute") { items = try items.map { try item($0, .string(attribute)) } }
            return .string(items.map(\.stringValue).joined(separator: separator))
        case "unique":
            var out: [JinjaValue] = []
            for x in try iterate(v) where !out.contains(where: { $0.isEqual(x) }) { out.append(x) }
            return .array(out)
        case "sort":
            let reverse = args.value(0, "reverse")?.isTruthy ?? false
            let attribute = try string(2, "attribute")
            let keyed = try iterate(v).map { x in (x, try attribute.map { try item(x, .string($0)) } ?? x) }
            var failure: JinjaFailure?
            let sorted = keyed.sorted { a, b in
                guard let less = (reverse ? b.1 : a.1).isLess(than: reverse ? a.1 : b.1) else {
                    failure = JinjaFailure("filter 'sort': values cannot be ordered")
                    return false
                }
                return less
            }
            if let failure { throw failure }
            return .array(sorted.map(\.0))
        case "int":
            switch v {
            case let .int(i): return .int(i)
            case let .double(d): return .int(Int(d))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .string(s): return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? Int(Double(s) ?? 0))
            default: return args.value(0, "default") ?? .int(0)
            }
        case "float":
            if let d = v.numeric { return .double(d) }
            if case let .string(s) = v, let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return args.value(0, "default") ?? .double(0)
        case "abs":
            switch v {
            case let .int(i): return .int(abs(i))
            case let .double(d): return .double(abs(d))
            default: throw JinjaFailure("bad operand type for abs(): '\(v.typeName)'")
            }
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            var rest = args.positional
            var attribute: String?
            if byAttribute {
                guard case let .string(a)? = rest.first else { throw JinjaFailure("filter '\(name)' needs an attribute name") }
                attribute = a
                rest.removeFirst()
            }
            let keep = name.hasPrefix("select")
            return .array(try iterate(v).filter { x in
                let subject = try attribute.map { try JinjaBuiltins.item(x, .string($0)) } ?? x
                guard case let .string(testName)? = rest.first else { return subject.isTruthy == keep }
                return try test(testName, subject, Array(rest.dropFirst())) == keep
            })
        case "map":
            if let attribute = args.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = args.keyword.first(where: { $0.0 == "default" })?.1
                return .array(try iterate(v).map { x in
                    let value = try item(x, attribute)
                    return value.isUndefined ? (fallback ?? value) : value
                })
            }
            guard case let .string(filterName)? = args.positional.first else { throw JinjaFailure("filter 'map' needs a filter name or attribute=") }
            let rest = JinjaArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            return .array(try iterate(v).map { try filter(filterName, $0, rest) })
        case "indent":
            let width = args.value(0, "width").flatMap { if case let .int(i) = $0 { return i } else { return nil } } ?? 4
            let first = args.value(1, "first")?.isTruthy ?? false
            let blank = args.value(2, "blank")?.isTruthy ?? false
            let pad = String(repeating: " ", count: width)
            let lines = v.stringValue.components(separatedBy: "\n")
            let body = lines.enumerated().map { i, line in
                i == 0 ? line : ((blank || !line.isEmpty) ? pad + line : line)
            }.joined(separator: "\n")
            return .string(first ? pad + body : body)
        case "max", "min":
            var items = try iterate(v)
            if let attribute = try string(1, "attribute") { items = try items.map { try item($0, .string(attribute)) } }
            guard var best = items.first else { return .undefined("no \(name) item, sequence was empty") }
            for x in items.dropFirst() {
                guard let less = (name == "max" ? best : x).isLess(than: name == "max" ? x : best) else {
                    throw JinjaFailure("filter '\(name)': values cannot be ordered")
                }
                if less { best = x }
            }
            return best
        case "sum":
            var items = try iterate(v)
            if let attribute = try string(0, "attribute") { items = try items.map { try item($0, .string(attribute)) } }
            return try items.reduce(args.value(1, "start") ?? .int(0)) { try arithmetic("+", $0, $1) }
        case "dictsort":
            guard case let .object(pairs) = v else { throw JinjaFailure("filter 'dictsort' expects a mapping, got \(v.typeName)") }
            let caseSensitive = args.value(0, "case_sensitive")?.isTruthy ?? false
            let byValue = (try string(1, "by") ?? "key") == "value"
            let reverse = args.value(2, "reverse")?.isTruthy ?? false
            func key(_ p: (String, JinjaValue)) -> JinjaValue {
                let k = byValue ? p.1 : .string(p.0)
                if !caseSensitive, case let .string(t) = k { return .string(t.lowercased()) }
                return k
            }
            var failure: JinjaFailure?
            let sorted = pairs.sorted { a, b in
                guard let less = (reverse ? key(b) : key(a)).isLess(than: reverse ? key(a) : key(b)) else {
                    failure = JinjaFailure("filter 'dictsort': values cannot be ordered")
                    return false
                }
                return less
            }
            if let failure { throw failure }
            return .array(sorted.map { .array([.string($0.0), $0.1]) })
        case "escape", "e", "forceescape":
            var out = ""
            for scalar in v.stringValue.unicodeScalars {
                switch scalar {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return .string(out)
        case "wordcount":
            return .int(v.stringValue.unicodeScalars.split { !($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_") }.count)
        case "attr":
            guard case let .string(attribute)? = args.positional.first else { throw JinjaFailure("filter 'attr' takes a name") }
            if case let .object(pairs) = v {  // a Python attribute only: dict methods, never items
                return dictMethods.contains(attribute) ? dictMethod(pairs, attribute) : .undefined("'dict object' has no attribute '\(attribute)'")
            }
            return try JinjaBuiltins.attribute(v, attribute)
        default:
            throw JinjaFailure(jinjaFilterNames.contains(name) ? "filter '\(name)' is not supported" : "no filter named '\(name)'")
        }
    }

    /// `soft_str(value)`: an undefined value is "".
    private static func text(_ v: JinjaValue, _ filter: String) throws -> String {
        v.stringValue
    }

    /// Every filter Jinja2 has (to tell "not supported" from "no such filter").
    static let jinjaFilterNames: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last",
        "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace", "reverse",
        "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim",
        "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
    ]

    /// Every test Jinja2 has.
    static let jinjaTestNames: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter", "float",
        "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne", "none",
        "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper", "==", "!=", "<", "<=", ">", ">=",
    ]

    // MARK: dict methods

    static func dictMethod(_ pairs: [(String, JinjaValue)], _ name: String) -> JinjaValue {
        .callable(JinjaCallable(name: "dict.\(name)") { args in
            switch name {
            case "items": return .array(pairs.map { .array([.string($0.0), $0.1]) })
            case "keys": return .array(pairs.map { .string($0.0) })
            case "values": return .array(pairs.map(\.1))
            default:
                guard case let .string(key)? = args.positional.first else { throw JinjaFailure("dict.get() takes a key") }
                return pairs.last(where: { sameScalars($0.0, key) })?.1 ?? args.value(1, "default") ?? .none
            }
        })
    }

    // MARK: str methods

    static func stringMethod(_ s: String, _ name: String) -> JinjaValue? {
        func method(_ body: @escaping (JinjaArguments) throws -> JinjaValue) -> JinjaValue {
            .callable(JinjaCallable(name: "str.\(name)", call: body))
        }
        func optionalString(_ args: JinjaArguments, _ i: Int, _ key: String) throws -> String? {
            guard let v = args.value(i, key) else { return nil }
            switch v {
            case .none: return nil
            case let .string(t): return t
            default: throw JinjaFailure("str.\(name)() expects a string argument, got \(v.typeName)")
            }
        }
        switch name {
        case "strip", "lstrip", "rstrip":
            return method { args in
                .string(pythonStrip(s, chars: try optionalString(args, 0, "chars"), left: name != "rstrip", right: name != "lstrip"))
            }
        case "startswith", "endswith":
            return method { args in
                let candidates: [JinjaValue]
                switch args.positional.first {
                case let .array(items)?: candidates = items
                case let v?: candidates = [v]
                case nil: throw JinjaFailure("str.\(name)() takes at least 1 argument")
                }
                let scalars = Array(s.unicodeScalars)
                return .bool(try candidates.contains { c in
                    guard case let .string(p) = c else { throw JinjaFailure("str.\(name)() expects strings") }
                    let q = Array(p.unicodeScalars)
                    guard q.count <= scalars.count else { return false }
                    return name == "startswith" ? Array(scalars.prefix(q.count)) == q : Array(scalars.suffix(q.count)) == q
                })
            }
        case "split", "rsplit":
            return method { args in
                let separator = try optionalString(args, 0, "sep")
                var maxSplit = -1
                if case let .int(m)? = args.value(1, "maxsplit") { maxSplit = m }
                return .array(try pythonSplit(s, separator, maxSplit: maxSplit, fromRight: name == "rsplit").map { .string($0) })
            }
        case "upper": return method { _ in .string(s.uppercased()) }
        case "lower": return method { _ in .string(s.lowercased()) }
        case "title": return method { _ in .string(titleCase(s)) }
        case "capitalize": return method { _ in .string(capitalize(s)) }
        case "replace":
            return method { args in
                guard let old = try optionalString(args, 0, "old"), let new = try optionalString(args, 1, "new") else {
                    throw JinjaFailure("str.replace() takes two strings")
                }
                var count = -1
                if case let .int(c)? = args.value(2, "count") { count = c }
                return .string(pythonReplace(s, old, new, count: count))
            }
        case "join":
            return method { args in
                guard let items = args.positional.first else { throw JinjaFailure("str.join() takes an iterable") }
                return .string(try iterate(items).map { v -> String in
                    guard case let .string(t) = v else { throw JinjaFailure("sequence item: expected str instance, \(v.typeName) found") }
                    return t
                }.joined(separator: s))
            }
        case "find", "count":
            return method { args in
                guard let needle = try optionalString(args, 0, "sub") else { throw JinjaFailure("str.\(name)() takes a string") }
                let hay = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
                var hits: [Int] = []
                var i = 0
                while i + n.count <= hay.count {
                    if Array(hay[i..<(i + n.count)]) == n {
                        hits.append(i)
                        i += max(1, n.count)
                    } else {
                        i += 1
                    }
                }
                return name == "find" ? .int(hits.first ?? -1) : .int(hits.count)
            }
        case "isdigit": return method { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal }) }
        case "isspace": return method { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPythonSpace)) }
        default: return nil
        }
    }
}

// MARK: - Python string semantics

func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
    s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
}

func pythonStrip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
    let set = chars.map { Set($0.unicodeScalars) }
    let strip: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isPythonSpace(c) }
    let scalars = Array(s.unicodeScalars)
    var start = 0, end = scalars.count
    if left { while start < end, strip(scalars[start]) { start += 1 } }
    if right { while end > start, strip(scalars[end - 1]) { end -= 1 } }
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars[start..<end])
    return String(view)
}

func pythonSplit(_ s: String, _ separator: String?, maxSplit: Int, fromRight: Bool) throws -> [String] {
    let scalars = Array(s.unicodeScalars)
    func make(_ slice: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: slice)
        return String(view)
    }
    guard let separator else {
        // Whitespace runs; no empty strings.
        var words: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        while i < scalars.count {
            while i < scalars.count, isPythonSpace(scalars[i]) { i += 1 }
            guard i < scalars.count else { break }
            if maxSplit >= 0, words.count == maxSplit, !fromRight {
                var end = scalars.count
                while end > i, isPythonSpace(scalars[end - 1]) { end -= 1 }
                words.append(scalars[i..<end])
                return words.map(make)
            }
            var j = i
            while j < scalars.count, !isPythonSpace(scalars[j]) { j += 1 }
            words.append(scalars[i..<j])
            i = j
        }
        if fromRight, maxSplit >= 0, words.count > maxSplit + 1 {
            let keep = words.suffix(maxSplit)
            let headEnd = words[words.count - maxSplit - 1].endIndex
            return [make(scalars[words[0].startIndex..<headEnd])] + keep.map(make)
        }
        return words.map(make)
    }
    let sep = Array(separator.unicodeScalars)
    guard !sep.isEmpty else { throw JinjaFailure("empty separator") }
    var cuts: [Int] = []
    var i = 0
    while i + sep.count <= scalars.count {
        if scalars[i..<(i + sep.count)].elementsEqual(sep) {
            cuts.append(i)
            i += sep.count
        } else {
            i += 1
        }
    }
    if maxSplit >= 0, cuts.count > maxSplit { cuts = fromRight ? Array(cuts.suffix(maxSplit)) : Array(cuts.prefix(maxSplit)) }
    var parts: [String] = []
    var start = 0
    for c in cuts {
        parts.append(make(scalars[start..<c]))
        start = c + sep.count
    }
    parts.append(make(scalars[start...]))
    return parts
}

func pythonReplace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
    guard !old.isEmpty else { return s }
    let parts = (try? pythonSplit(s, old, maxSplit: count, fromRight: false)) ?? [s]
    return parts.joined(separator: new)
}

func capitalize(_ s: String) -> String {
    guard let first = s.unicodeScalars.first else { return s }
    return String(first).uppercased() + String(String.UnicodeScalarView(s.unicodeScalars.dropFirst())).lowercased()
}

func titleCase(_ s: String) -> String {
    var out = ""
    var previousCased = false
    for scalar in s.unicodeScalars {
        let ch = String(scalar)
        out += previousCased ? ch.lowercased() : ch.uppercased()
        previousCased = scalar.properties.isCased
    }
    return out
}
