// JinjaParser.swift — the syntax tree of a chat template and the parser that
// builds it, with Jinja2's operator precedence (filters and tests bind to the
// unary operand: `messages|length - 1` is `(messages|length) - 1`).

import Foundation

// MARK: - Syntax tree

indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String, TemplateLocation)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attribute(JinjaExpr, String, TemplateLocation)
    case item(JinjaExpr, JinjaExpr, TemplateLocation)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?, TemplateLocation)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)], TemplateLocation)
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)], TemplateLocation)
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool, TemplateLocation)
    case unary(String, JinjaExpr, TemplateLocation)
    case binary(String, JinjaExpr, JinjaExpr, TemplateLocation)
    case compare(JinjaExpr, [(String, JinjaExpr)], TemplateLocation)
    case conditional(then: JinjaExpr, test: JinjaExpr, otherwise: JinjaExpr?, TemplateLocation)
}

enum JinjaSetTarget {
    case names([String])
    case attribute(String, String)
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr, TemplateLocation)
    case branches([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
    case loop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode],
              TemplateLocation)
    case set(JinjaSetTarget, JinjaExpr, TemplateLocation)
    case setBlock(String, [JinjaNode])
    case macro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode])
    case loopControl(isBreak: Bool, TemplateLocation)
    case block([JinjaNode])
}

// MARK: - Statement parser

struct JinjaParser {
    private let segments: [JinjaSegment]
    private var index = 0

    static func parse(_ source: String) throws -> [JinjaNode] {
        var parser = JinjaParser(segments: try JinjaLexer(source: source).segments())
        let (nodes, end) = try parser.body(until: [])
        if let (tag, _, loc) = end { throw ChatTemplateError.syntax(message: "unexpected '\(tag)'", location: loc) }
        return nodes
    }

    private init(segments: [JinjaSegment]) { self.segments = segments }

    /// Nodes up to one of the `until` tags; returns that tag's name, its tokens
    /// (after the name) and location, or nil at the end of the template.
    private mutating func body(until: Set<String>) throws
        -> ([JinjaNode], (String, ExpressionParser, TemplateLocation)?)
    {
        var nodes: [JinjaNode] = []
        while index < segments.count {
            let segment = segments[index]
            index += 1
            switch segment {
            case let .text(t): nodes.append(.text(t))
            case let .output(tokens, loc):
                var p = ExpressionParser(tokens: tokens, end: loc)
                let e = try p.expression()
                try p.expectEnd()
                nodes.append(.output(e, loc))
            case let .statement(tokens, loc):
                var p = ExpressionParser(tokens: tokens, end: loc)
                guard case let .name(tag)? = p.peek?.kind else {
                    throw ChatTemplateError.syntax(message: "expected a tag name", location: loc)
                }
                p.advance()
                if until.contains(tag) { return (nodes, (tag, p, loc)) }
                nodes.append(try statement(tag, &p, loc, until: until))
            }
        }
        if !until.isEmpty {
            let names = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
            let loc = segments.isEmpty ? TemplateLocation(line: 1, column: 1) : lastLocation()
            throw ChatTemplateError.syntax(message: "unexpected end of template, expected \(names)", location: loc)
        }
        return (nodes, nil)
    }

    private func lastLocation() -> TemplateLocation {
        for segment in segments.reversed() {
            switch segment {
            case let .output(_, loc), let .statement(_, loc): return loc
            case .text: continue
            }
        }
        return TemplateLocation(line: 1, column: 1)
    }

    private mutating func statement(_ tag: String, _ p: inout ExpressionParser, _ loc: TemplateLocation,
                                    until: Set<String>) throws -> JinjaNode
    {
        switch tag {
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var condition = try p.expression()
            try p.expectEnd()
            while true {
                let (nodes, end) = try body(until: ["elif", "else", "endif"])
                branches.append((condition, nodes))
                guard case (let name, var q, _)? = end else { fatalError("body(until:) returns its end tag") }
                switch name {
                case "elif":
                    condition = try q.expression()
                    try q.expectEnd()
                case "else":
                    try q.expectEnd()
                    let (rest, _) = try body(until: ["endif"])
                    return .branches(branches, otherwise: rest)
                default:
                    try q.expectEnd()
                    return .branches(branches, otherwise: [])
                }
            }
        case "for":
            var targets = [try p.name()]
            while p.accept(op: ",") { targets.append(try p.name()) }
            try p.expect(name: "in")
            let iterable = try p.expression(conditional: false)
            var filter: JinjaExpr?
            if p.accept(name: "if") { filter = try p.expression(conditional: false) }
            try p.expectEnd()
            let (nodes, end) = try body(until: ["else", "endfor"])
            var otherwise: [JinjaNode] = []
            if let (name, q, _) = end, name == "else" {
                try q.expectEnd()
                (otherwise, _) = try body(until: ["endfor"])
            }
            return .loop(targets: targets, iterable: iterable, filter: filter, body: nodes, otherwise: otherwise, loc)
        case "set":
            let first = try p.name()
            if p.accept(op: ".") {
                let attr = try p.name()
                try p.expect(op: "=")
                let value = try p.expression()
                try p.expectEnd()
                return .set(.attribute(first, attr), value, loc)
            }
            var names = [first]
            while p.accept(op: ",") { names.append(try p.name()) }
            if p.atEnd {
                guard names.count == 1 else { throw ChatTemplateError.syntax(message: "expected '='", location: loc) }
                let (nodes, _) = try body(until: ["endset"])
                return .setBlock(first, nodes)
            }
            try p.expect(op: "=")
            var value = try p.expression()
            if p.accept(op: ",") {  // `set a, b = 1, 2`: an unparenthesized tuple
                var items = [value]
                repeat { items.append(try p.expression()) } while p.accept(op: ",")
                value = .tuple(items)
            }
            try p.expectEnd()
            return .set(.names(names), value, loc)
        case "macro":
            let name = try p.name()
            try p.expect(op: "(")
            var parameters: [(String, JinjaExpr?)] = []
            while !p.accept(op: ")") {
                if !parameters.isEmpty { try p.expect(op: ",") }
                if p.accept(op: ")") { break }
                let param = try p.name()
                parameters.append((param, p.accept(op: "=") ? try p.expression() : nil))
            }
            try p.expectEnd()
            let (nodes, _) = try body(until: ["endmacro"])
            return .macro(name: name, parameters: parameters, body: nodes)
        case "break", "continue":
            try p.expectEnd()
            return .loopControl(isBreak: tag == "break", loc)
        case "generation":
            // transformers' assistant-mask extension: renders its body unchanged.
            try p.expectEnd()
            let (nodes, _) = try body(until: ["endgeneration"])
            return .block(nodes)
        default:
            throw ChatTemplateError.syntax(message: "unknown tag '\(tag)'", location: loc)
        }
    }
}

// MARK: - Expression parser

struct ExpressionParser {
    private let tokens: [JinjaToken]
    private let end: TemplateLocation
    private var pos = 0

    init(tokens: [JinjaToken], end: TemplateLocation) {
        self.tokens = tokens
        self.end = end
    }

    var peek: JinjaToken? { pos < tokens.count ? tokens[pos] : nil }
    var atEnd: Bool { pos >= tokens.count }
    private var here: TemplateLocation { peek?.location ?? end }

    mutating func advance() { pos += 1 }

    private func error(_ message: String) -> ChatTemplateError {
        .syntax(message: message, location: here)
    }

    private func describe(_ token: JinjaToken?) -> String {
        guard let token else { return "end of tag" }
        switch token.kind {
        case let .name(n): return "'\(n)'"
        case let .op(o): return "'\(o)'"
        case let .string(s): return "string \(pythonRepr(s))"
        case let .int(i): return "number \(i)"
        case let .double(d): return "number \(d)"
        }
    }

    func expectEnd() throws {
        if let t = peek { throw error("unexpected \(describe(t)) at the end of the tag") }
    }

    mutating func accept(op: String) -> Bool {
        if case .op(op)? = peek?.kind { pos += 1; return true }
        return false
    }

    mutating func accept(name: String) -> Bool {
        if case .name(name)? = peek?.kind { pos += 1; return true }
        return false
    }

    private func isName(_ name: String, offset: Int = 0) -> Bool {
        guard pos + offset < tokens.count, case .name(name) = tokens[pos + offset].kind else { return false }
        return true
    }

    mutating func expect(op: String) throws {
        guard accept(op: op) else { throw error("expected '\(op)', got \(describe(peek))") }
    }

    mutating func expect(name: String) throws {
        guard accept(name: name) else { throw error("expected '\(name)', got \(describe(peek))") }
    }

    mutating func name() throws -> String {
        guard case let .name(n)? = peek?.kind else { throw error("expected a name, got \(describe(peek))") }
        pos += 1
        return n
    }

    // MARK: Precedence levels

    mutating func expression(conditional: Bool = true) throws -> JinjaExpr {
        let loc = here
        let value = try or()
        guard conditional, accept(name: "if") else { return value }
        let test = try or()
        let otherwise = accept(name: "else") ? try expression() : nil
        return .conditional(then: value, test: test, otherwise: otherwise, loc)
    }

    private mutating func or() throws -> JinjaExpr {
        var left = try and()
        while isName("or") {
            let loc = here
            pos += 1
            left = .binary("or", left, try and(), loc)
        }
        return left
    }

    private mutating func and() throws -> JinjaExpr {
        var left = try not()
        while isName("and") {
            let loc = here
            pos += 1
            left = .binary("and", left, try not(), loc)
        }
        return left
    }

    private mutating func not() throws -> JinjaExpr {
        if isName("not") {
            let loc = here
            pos += 1
            return .unary("not", try not(), loc)
        }
        return try compare()
    }

    private mutating func compare() throws -> JinjaExpr {
        let loc = here
        let left = try math1()
        var rest: [(String, JinjaExpr)] = []
        while true {
            if case let .op(o)? = peek?.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                pos += 1
                rest.append((o, try math1()))
            } else if isName("in") {
                pos += 1
                rest.append(("in", try math1()))
            } else if isName("not"), isName("in", offset: 1) {
                pos += 2
                rest.append(("notin", try math1()))
            } else {
                break
            }
        }
        return rest.isEmpty ? left : .compare(left, rest, loc)
    }

    private mutating func binaryLevel(_ ops: Set<String>, next: (inout ExpressionParser) throws -> JinjaExpr) throws
        -> JinjaExpr
    {
        var left = try next(&self)
        while case let .op(o)? = peek?.kind, ops.contains(o) {
            let loc = here
            pos += 1
            left = .binary(o, left, try next(&self), loc)
        }
        return left
    }

    private mutating func math1() throws -> JinjaExpr { try binaryLevel(["+", "-"]) { try $0.concat() } }
    private mutating func concat() throws -> JinjaExpr { try binaryLevel(["~"]) { try $0.math2() } }
    private mutating func math2() throws -> JinjaExpr { try binaryLevel(["*", "/", "//", "%"]) { try $0.power() } }
    private mutating func power() throws -> JinjaExpr { try binaryLevel(["**"]) { try $0.unary() } }

    private mutating func unary(withFilter: Bool = true) throws -> JinjaExpr {
        let loc = here
        var node: JinjaExpr
        if accept(op: "-") {
            node = .unary("-", try unary(withFilter: false), loc)
        } else if accept(op: "+") {
            node = .unary("+", try unary(withFilter: false), loc)
        } else {
            node = try primary()
        }
        node = try postfix(node)
        return withFilter ? try filters(node) : node
    }

    // MARK: Primaries and postfix

    private mutating func primary() throws -> JinjaExpr {
        guard let token = peek else { throw error("expected an expression, got end of tag") }
        pos += 1
        switch token.kind {
        case let .string(s):
            var text = s
            while case let .string(more)? = peek?.kind {  // adjacent literals concatenate
                text += more
                pos += 1
            }
            return .literal(.string(text))
        case let .int(i): return .literal(.int(i))
        case let .double(d): return .literal(.double(d))
        case let .name(n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, token.location)
            }
        case .op("("):
            if accept(op: ")") { return .tuple([]) }
            let first = try expression()
            if accept(op: ")") { return first }
            var items = [first]
            while accept(op: ",") {
                if case .op(")")? = peek?.kind { break }
                items.append(try expression())
            }
            try expect(op: ")")
            return .tuple(items)
        case .op("["):
            var items: [JinjaExpr] = []
            while !accept(op: "]") {
                if !items.isEmpty { try expect(op: ",") }
                if accept(op: "]") { break }
                items.append(try expression())
            }
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !accept(op: "}") {
                if !pairs.isEmpty { try expect(op: ",") }
                if accept(op: "}") { break }
                let key = try expression()
                try expect(op: ":")
                pairs.append((key, try expression()))
            }
            return .dict(pairs)
        default:
            pos -= 1
            throw error("unexpected \(describe(token))")
        }
    }

    private mutating func postfix(_ start: JinjaExpr) throws -> JinjaExpr {
        var node = start
        while let token = peek {
            let loc = token.location
            if accept(op: ".") {
                if case let .int(i)? = peek?.kind {
                    pos += 1
                    node = .item(node, .literal(.int(i)), loc)
                } else {
                    node = .attribute(node, try name(), loc)
                }
            } else if accept(op: "[") {
                node = try subscriptOrSlice(node, loc)
            } else if accept(op: "(") {
                let (args, kwargs) = try arguments()
                node = .call(node, args, kwargs, loc)
            } else {
                break
            }
        }
        return node
    }

    private mutating func subscriptOrSlice(_ target: JinjaExpr, _ loc: TemplateLocation) throws -> JinjaExpr {
        var parts: [JinjaExpr?] = []
        var current: JinjaExpr?
        var sawColon = false
        while true {
            if accept(op: "]") {
                parts.append(current)
                break
            } else if accept(op: ":") {
                sawColon = true
                parts.append(current)
                current = nil
            } else {
                guard current == nil else { throw error("expected ']' or ':', got \(describe(peek))") }
                current = try expression()
            }
        }
        if !sawColon {
            guard let key = parts[0] else { throw error("empty subscript") }
            return .item(target, key, loc)
        }
        guard parts.count <= 3 else { throw error("too many ':' in slice") }
        return .slice(target, parts[0], parts.count > 1 ? parts[1] : nil, parts.count > 2 ? parts[2] : nil, loc)
    }

    /// Call arguments after `(`, through `)`.
    private mutating func arguments() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        var args: [JinjaExpr] = []
        var kwargs: [(String, JinjaExpr)] = []
        while !accept(op: ")") {
            if !(args.isEmpty && kwargs.isEmpty) { try expect(op: ",") }
            if accept(op: ")") { break }
            if case let .name(n)? = peek?.kind, pos + 1 < tokens.count, case .op("=") = tokens[pos + 1].kind {
                pos += 2
                kwargs.append((n, try expression()))
            } else {
                guard kwargs.isEmpty else { throw error("positional argument after keyword argument") }
                args.append(try expression())
            }
        }
        return (args, kwargs)
    }

    // MARK: Filters and tests

    private mutating func filters(_ start: JinjaExpr) throws -> JinjaExpr {
        var node = start
        while true {
            let loc = here
            if accept(op: "|") {
                var filterName = try name()
                while accept(op: ".") { filterName += "." + (try name()) }
                var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
                if accept(op: "(") { (args, kwargs) = try arguments() }
                node = try postfix(.filter(node, filterName, args, kwargs, loc))
            } else if isName("is") {
                pos += 1
                let negated = accept(name: "not")
                let testName = try name()
                var args: [JinjaExpr] = []
                if accept(op: "(") {
                    (args, _) = try arguments()
                } else if let t = peek, startsBareTestArgument(t) {
                    args = [try unary(withFilter: false)]
                }
                node = .test(node, testName, args, negated: negated, loc)
            } else {
                return node
            }
        }
    }

    /// `x is divisibleby 3`, `x is sameas none`: a test argument without parentheses.
    private func startsBareTestArgument(_ token: JinjaToken) -> Bool {
        switch token.kind {
        case .string, .int, .double: return true
        case let .name(n): return !["and", "or", "else", "if", "in", "is", "not"].contains(n)
        case let .op(o): return o == "[" || o == "{"
        }
    }
}
