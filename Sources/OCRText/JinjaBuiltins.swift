// JinjaBuiltins.swift — what a chat template can call: globals
// (`namespace`, `raise_exception`, `range`), attribute and item access,
// operators, filters, tests, and the Python `str` / `dict` methods templates use.

import Foundation

enum JinjaBuiltins {
    // MARK: Globals

    static func globals() -> [String: JinjaValue] {
        [
            "namespace": .callable(JinjaCallable(name: "namespace") { args in
                var attributes: [(String, JinjaValue)] = []
                if let first = args.positional.first {
                    guard case let .object(pairs) = first else { throw JinjaFailure("namespace() takes a mapping") }
                    attributes = pairs
                }
                for (k, v) in args.keyword {
                    if let i = attributes.firstIndex(where: { $0.0 == k }) { attributes[i].1 = v } else { attributes.append((k, v)) }
                }
                return .namespace(JinjaNamespace(attributes))
            }),
            "raise_exception": .callable(JinjaCallable(name: "raise_exception") { args in
                throw ChatTemplateError.raised(message: args.positional.first?.stringValue ?? "")
            }),
            "range": .callable(JinjaCallable(name: "range") { args in
                let ints = try args.positional.map { v -> Int in
                    guard case let .int(i) = v else { throw JinjaFailure("range() takes integers, got \(v.typeName)") }
                    return i
                }
                let (start, stop, step): (Int, Int, Int)
                switch ints.count {
                case 1: (start, stop, step) = (0, ints[0], 1)
                case 2: (start, stop, step) = (ints[0], ints[1], 1)
                case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
                default: throw JinjaFailure("range() takes 1 to 3 arguments")
                }
                guard step != 0 else { throw JinjaFailure("range() step must not be zero") }
                guard (stop - start) / step < 100_000 else { throw JinjaFailure("range() is too large") }
                return .array(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
            }),
            "dict": .callable(JinjaCallable(name: "dict") { args in .object(args.keyword) }),
            "strftime_now": .callable(JinjaCallable(name: "strftime_now") { args in
                guard case let .string(format)? = args.positional.first else { throw JinjaFailure("strftime_now() takes a format") }
                return .string(strftimeNow(format))
            }),
        ]
    }

    private static func strftimeNow(_ format: String) -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 256)
        let n = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Access

    static func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case let .array(a): return a
        case let .object(o): return o.map { .string($0.0) }
        case let .string(s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw JinjaFailure("'\(value.typeName)' object is not iterable")
        }
    }

    static let dictMethods: Set<String> = ["items", "keys", "values", "get"]

    /// `object.name`: a Python attribute first (dict and str methods), then the item.
    static func attribute(_ object: JinjaValue, _ name: String) throws -> JinjaValue {
        switch object {
        case let .undefined(message): throw JinjaFailure(message)
        case let .object(pairs):
            if dictMethods.contains(name) { return dictMethod(pairs, name) }
            if let v = pairs.last(where: { sameScalars($0.0, name) })?.1 { return v }
            return .undefined("'dict object' has no attribute '\(name)'")
        case let .namespace(ns):
            return ns[name] ?? .undefined("'Namespace' object has no attribute '\(name)'")
        case let .string(s):
            return stringMethod(s, name) ?? .undefined("'str object' has no attribute '\(name)'")
        default:
            return .undefined("'\(object.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `object[key]`: the item first, then a Python attribute.
    static func item(_ object: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
        switch (object, key) {
        case let (.undefined(message), _): throw JinjaFailure(message)
        case let (.object(pairs), .string(k)):
            if let v = pairs.last(where: { sameScalars($0.0, k) })?.1 { return v }
            if dictMethods.contains(k) { return dictMethod(pairs, k) }
            return .undefined("'dict object' has no attribute '\(k)'")
        case let (.object(pairs), _):
            return pairs.last(where: { $0.0 == key.stringValue })?.1 ?? .undefined("'dict object' has no item \(key.repr)")
        case let (.namespace(ns), .string(k)):
            return ns[k] ?? .undefined("'Namespace' object has no attribute '\(k)'")
        case let (.array(a), .int(i)):
            let j = i < 0 ? a.count + i : i
            return a.indices.contains(j) ? a[j] : .undefined("list index \(i) out of range")
        case let (.string(s), .int(i)):
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(j) ? .string(String(scalars[j])) : .undefined("string index \(i) out of range")
        case let (_, .string(k)):
            return try attribute(object, k)
        default:
            return .undefined("'\(object.typeName) object' has no item \(key.repr)")
        }
    }

    static func slice(_ object: JinjaValue, _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?) throws -> JinjaValue {
        func int(_ v: JinjaValue?) throws -> Int? {
            guard let v, !(v.isUndefined) else { return nil }
            switch v {
            case .none: return nil
            case let .int(i): return i
            default: throw JinjaFailure("slice indices must be integers or None, got \(v.typeName)")
            }
        }
        let stepValue = try int(step) ?? 1
        guard stepValue != 0 else { throw JinjaFailure("slice step cannot be zero") }
        func pick<T>(_ items: [T]) throws -> [T] {
            let n = items.count
            func clamp(_ i: Int?, _ fallback: Int, low: Int, high: Int) -> Int {
                guard var i else { return fallback }
                if i < 0 { i += n }
                return min(max(i, low), high)
            }
            var out: [T] = []
            if stepValue > 0 {
                var i = clamp(try int(start), 0, low: 0, high: n)
                let end = clamp(try int(stop), n, low: 0, high: n)
                while i < end { out.append(items[i]); i += stepValue }
            } else {
                var i = clamp(try int(start), n - 1, low: -1, high: n - 1)
                let end = clamp(try int(stop), -1, low: -1, high: n - 1)
                while i > end { out.append(items[i]); i += stepValue }
            }
            return out
        }
        switch object {
        case let .array(a): return .array(try pick(a))
        case let .string(s):
            var view = String.UnicodeScalarView()
            view.append(contentsOf: try pick(Array(s.unicodeScalars)))
            return .string(String(view))
        case let .undefined(message): throw JinjaFailure(message)
        default: throw JinjaFailure("'\(object.typeName)' object is not subscriptable")
        }
    }

    // MARK: Operators

    static func negate(_ value: JinjaValue, minus: Bool) throws -> JinjaValue {
        switch value {
        case let .int(i): return .int(minus ? -i : i)
        case let .double(d): return .double(minus ? -d : d)
        case let .undefined(message): throw JinjaFailure(message)
        default: throw JinjaFailure("bad operand type for unary \(minus ? "-" : "+"): '\(value.typeName)'")
        }
    }

    static func arithmetic(_ op: String, _ l: JinjaValue, _ r: JinjaValue) throws -> JinjaValue {
        if op == "~" { return .string(l.stringValue + r.stringValue) }
        if case let .undefined(message) = l { throw JinjaFailure(message) }
        if case let .undefined(message) = r { throw JinjaFailure(message) }
        switch (op, l, r) {
        case let ("+", .string(a), .string(b)): return .string(a + b)
        case let ("+", .array(a), .array(b)): return .array(a + b)
        case let ("*", .string(a), .int(n)), let ("*", .int(n), .string(a)):
            return .string(String(repeating: a, count: max(0, n)))
        case let ("*", .array(a), .int(n)):
            return .array(Array(repeating: a, count: max(0, n)).flatMap { $0 })
        case let (_, .int(a), .int(b)):
            switch op {
            case "+": return .int(a &+ b)
            case "-": return .int(a &- b)
            case "*": return .int(a &* b)
            case "/":
                guard b != 0 else { throw JinjaFailure("division by zero") }
                return .double(Double(a) / Double(b))
            case "//", "%":
                guard b != 0 else { throw JinjaFailure("integer division or modulo by zero") }
                var q = a / b
                if (a % b != 0) && ((a < 0) != (b < 0)) { q -= 1 }
                return .int(op == "//" ? q : a - q * b)
            case "**":
                guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
                return .int(Int(pow(Double(a), Double(b))))
            default: break
            }
        default:
            if let a = l.numeric, let b = r.numeric, !(l.isBool && r.isBool && op == "+") {
                switch op {
                case "+": return .double(a + b)
                case "-": return .double(a - b)
                case "*": return .double(a * b)
                case "/":
                    guard b != 0 else { throw JinjaFailure("float division by zero") }
                    return .double(a / b)
                case "//": return .double((a / b).rounded(.down))
                case "%": return .double(a - b * (a / b).rounded(.down))
                case "**": return .double(pow(a, b))
                default: break
                }
            }
        }
        throw JinjaFailure("unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'")
    }

    static func compare(_ op: String, _ l: JinjaValue, _ r: JinjaValue) throws -> Bool {
        switch op {
        case "==": return l.isEqual(r)
        case "!=": return !l.isEqual(r)
        case "in": return try contains(r, l)
        case "notin": return try !contains(r, l)
        default:
            let ordered: Bool?
            switch op {
            case "<": ordered = l.isLess(than: r)
            case ">": ordered = r.isLess(than: l)
            case "<=": ordered = r.isLess(than: l).map { !$0 }
            default: ordered = l.isLess(than: r).map { !$0 }
            }
            guard let ordered else {
                throw JinjaFailure("'\(op)' not supported between instances of '\(l.typeName)' and '\(r.typeName)'")
            }
            return ordered
        }
    }

    static func contains(_ container: JinjaValue, _ needle: JinjaValue) throws -> Bool {
        switch container {
        case let .string(s):
            guard case let .string(n) = needle else {
                throw JinjaFailure("'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return n.isEmpty || s.unicodeScalars.firstRange(of: n.unicodeScalars) != nil
        case let .array(a): return a.contains { $0.isEqual(needle) }
        case let .object(o): return o.contains { JinjaValue.string($0.0).isEqual(needle) }
        case let .namespace(ns): return ns.attributes.contains { JinjaValue.string($0.0).isEqual(needle) }
        case .undefined: return false
        default: throw JinjaFailure("argument of type '\(container.typeName)' is not iterable")
        }
    }

    // MARK: Tests

    static func test(_ name: String, _ v: JinjaValue, _ args: [JinjaValue]) throws -> Bool {
        func arg() throws -> JinjaValue {
            guard let a = args.first else { throw JinjaFailure("test '\(name)' takes an argument") }
            return a
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true } else { return false }
        case "string": if case .string = v { return true } else { return false }
        case "mapping": if case .object = v { return true } else { return false }
        case "boolean": return v.isBool
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "number": return v.numeric != nil
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "iterable":
            switch v {
            case .array, .object, .string, .undefined: return true
            default: return false
            }
        case "sequence":
            switch v {
            case .array, .object, .string: return true
            default: return false
            }
        case "callable": if case .callable = v { return true } else { return false }
        case "odd", "even":
            guard case let .int(i) = v else { throw JinjaFailure("test '\(name)' needs an integer, got \(v.typeName)") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard case let .int(i) = v, case let .int(d) = try arg(), d != 0 else {
                throw JinjaFailure("test 'divisibleby' needs integers")
            }
            return i % d == 0
        case "lower": if case let .string(s) = v { return s == s.lowercased() } else { return false }
        case "upper": if case let .string(s) = v { return s == s.uppercased() } else { return false }
        case "equalto", "eq", "==", "sameas": return v.isEqual(try arg())
        case "ne", "!=": return !v.isEqual(try arg())
        case "lt", "<": return try compare("<", v, try arg())
        case "le", "<=": return try compare("<=", v, try arg())
        case "gt", ">", "greaterthan": return try compare(">", v, try arg())
        case "lessthan": return try compare("<", v, try arg())
        case "ge", ">=": return try compare(">=", v, try arg())
        case "in": return try contains(try arg(), v)
        default:
            throw JinjaFailure(jinjaTestNames.contains(name) ? "test '\(name)' is not supported" : "no test named '\(name)'")
        }
    }
}

extension JinjaValue {
    var isBool: Bool { if case .bool = self { return true } else { return false } }
}
