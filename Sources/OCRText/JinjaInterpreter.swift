// JinjaInterpreter.swift — renders a parsed chat template: scopes as Jinja2
// has them (a `for` body is its own scope, `namespace()` carries values out of
// it), loop variables, macros, loop controls, and errors that name the
// template position.

import Foundation

// MARK: - Interpreter

final class JinjaInterpreter {
    /// Variable frames, innermost last; frame 0 holds the render variables and top-level `set`s.
    private var frames: [[String: JinjaValue]]
    private var output = ""

    private enum LoopControl: Error {
        case breakLoop
        case continueLoop
    }

    init(variables: [String: JinjaValue]) {
        frames = [JinjaBuiltins.globals().merging(variables) { $1 }]
    }

    func render(_ nodes: [JinjaNode]) throws -> String {
        output = ""
        do {
            try run(nodes)
        } catch LoopControl.breakLoop {
            throw ChatTemplateError.syntax(message: "'break' outside a loop", location: TemplateLocation(line: 1, column: 1))
        } catch LoopControl.continueLoop {
            throw ChatTemplateError.syntax(message: "'continue' outside a loop", location: TemplateLocation(line: 1, column: 1))
        }
        return output
    }

    // MARK: Variables

    private func lookup(_ name: String) -> JinjaValue {
        for frame in frames.reversed() {
            if let v = frame[name] { return v }
        }
        return .undefined("'\(name)' is undefined")
    }

    private func assign(_ name: String, _ value: JinjaValue) {
        frames[frames.count - 1][name] = value
    }

    // MARK: Statements

    private func run(_ nodes: [JinjaNode]) throws {
        for node in nodes { try run(node) }
    }

    private func run(_ node: JinjaNode) throws {
        switch node {
        case let .text(t):
            output += t
        case let .output(e, _):
            output += try eval(e).stringValue
        case let .branches(branches, otherwise):
            for (condition, body) in branches where try eval(condition).isTruthy {
                try run(body)
                return
            }
            try run(otherwise)
        case let .loop(targets, iterable, filter, body, otherwise, loc):
            try runLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, loc)
        case let .set(target, e, loc):
            let value = try eval(e)
            switch target {
            case let .names(names) where names.count == 1:
                assign(names[0], value)
            case let .names(names):
                let items = try located(loc) { try JinjaBuiltins.iterate(value) }
                guard items.count == names.count else {
                    throw ChatTemplateError.runtime(
                        message: "cannot unpack \(items.count) values into \(names.count) names", location: loc)
                }
                for (n, v) in zip(names, items) { assign(n, v) }
            case let .attribute(object, attribute):
                guard case let .namespace(ns) = lookup(object) else {
                    throw ChatTemplateError.runtime(
                        message: "cannot assign attribute on non-namespace object '\(object)'", location: loc)
                }
                ns.set(attribute, value)
            }
        case let .setBlock(name, body):
            assign(name, .string(try capture(body)))
        case let .macro(name, parameters, body):
            assign(name, .callable(makeMacro(name: name, parameters: parameters, body: body)))
        case let .loopControl(isBreak, _):
            throw isBreak ? LoopControl.breakLoop : LoopControl.continueLoop
        case let .block(body):
            try run(body)
        }
    }

    /// Renders `body` into a string instead of the output.
    private func capture(_ body: [JinjaNode]) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try run(body)
        return output
    }

    private func runLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                         otherwise: [JinjaNode], _ loc: TemplateLocation) throws
    {
        let source = try eval(iterable)
        var items = try located(loc) { try JinjaBuiltins.iterate(source) }
        let outer = frames
        defer { frames = outer }
        if let filter {
            items = try items.filter { item in
                frames.append([:])
                defer { frames.removeLast() }
                try bind(targets, item, loc)
                return try eval(filter).isTruthy
            }
        }
        if items.isEmpty {
            try run(otherwise)
            return
        }
        let count = items.count
        for (i, item) in items.enumerated() {
            var loopInfo: [(String, JinjaValue)] = [
                ("index", .int(i + 1)), ("index0", .int(i)), ("revindex", .int(count - i)), ("revindex0", .int(count - i - 1)),
                ("first", .bool(i == 0)), ("last", .bool(i == count - 1)), ("length", .int(count)), ("depth", .int(1)),
                ("depth0", .int(0)),
            ]
            loopInfo.append(("previtem", i > 0 ? items[i - 1] : .undefined("there is no previous item")))
            loopInfo.append(("nextitem", i + 1 < count ? items[i + 1] : .undefined("there is no next item")))
            loopInfo.append(("cycle", .callable(JinjaCallable(name: "cycle") { args in
                guard !args.positional.isEmpty else { throw JinjaFailure("no items for cycling given") }
                return args.positional[i % args.positional.count]
            })))
            frames = outer + [["loop": .object(loopInfo)]]
            try bind(targets, item, loc)
            do {
                try run(body)
            } catch LoopControl.continueLoop {
                continue
            } catch LoopControl.breakLoop {
                break
            }
        }
    }

    private func bind(_ targets: [String], _ item: JinjaValue, _ loc: TemplateLocation) throws {
        if targets.count == 1 {
            assign(targets[0], item)
            return
        }
        let parts = try located(loc) { try JinjaBuiltins.iterate(item) }
        guard parts.count == targets.count else {
            throw ChatTemplateError.runtime(
                message: "cannot unpack \(parts.count) values into \(targets.count) loop variables", location: loc)
        }
        for (n, v) in zip(targets, parts) { assign(n, v) }
    }

    private func makeMacro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode]) -> JinjaCallable {
        JinjaCallable(name: name) { [unowned self] args in
            guard args.positional.count <= parameters.count else {
                throw JinjaFailure("macro '\(name)' takes not more than \(parameters.count) argument(s)")
            }
            var frame: [String: JinjaValue] = [:]
            for (i, (param, fallback)) in parameters.enumerated() {
                if let v = args.value(i, param) {
                    frame[param] = v
                } else if let fallback {
                    frame[param] = try self.eval(fallback)
                } else {
                    frame[param] = .undefined("'\(param)' is undefined")
                }
            }
            for (key, _) in args.keyword where !parameters.contains(where: { $0.0 == key }) {
                throw JinjaFailure("macro '\(name)' takes no keyword argument '\(key)'")
            }
            let saved = self.frames
            self.frames = [saved[0], frame]
            defer { self.frames = saved }
            return .string(try self.capture(body))
        }
    }

    // MARK: Expressions

    /// Runs `body`, giving a location-less failure the position `loc`.
    private func located<T>(_ loc: TemplateLocation, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as JinjaFailure {
            throw ChatTemplateError.runtime(message: failure.message, location: loc)
        }
    }

    func eval(_ expr: JinjaExpr) throws -> JinjaValue {
        switch expr {
        case let .literal(v): return v
        case let .name(n, _): return lookup(n)
        case let .list(items): return .array(try items.map(eval))
        case let .tuple(items): return .array(try items.map(eval))
        case let .dict(pairs):
            var out: [(String, JinjaValue)] = []
            for (k, v) in pairs {
                let key = try eval(k)
                guard case let .string(s) = key else {
                    out.append((key.stringValue, try eval(v)))
                    continue
                }
                let value = try eval(v)
                if let i = out.firstIndex(where: { sameScalars($0.0, s) }) { out[i].1 = value } else { out.append((s, value)) }
            }
            return .object(out)
        case let .attribute(target, name, loc):
            let object = try eval(target)
            return try located(loc) { try JinjaBuiltins.attribute(object, name) }
        case let .item(target, key, loc):
            let object = try eval(target)
            let k = try eval(key)
            return try located(loc) { try JinjaBuiltins.item(object, k) }
        case let .slice(target, start, stop, step, loc):
            let object = try eval(target)
            let bounds = try [start, stop, step].map { try $0.map(eval) }
            return try located(loc) { try JinjaBuiltins.slice(object, bounds[0], bounds[1], bounds[2]) }
        case let .call(target, args, kwargs, loc):
            let callee = try eval(target)
            let arguments = JinjaArguments(positional: try args.map(eval), keyword: try kwargs.map { ($0.0, try eval($0.1)) })
            guard case let .callable(function) = callee else {
                if case let .undefined(message) = callee {
                    throw ChatTemplateError.runtime(message: message, location: loc)
                }
                throw ChatTemplateError.runtime(message: "'\(callee.typeName)' object is not callable", location: loc)
            }
            return try located(loc) { try function.call(arguments) }
        case let .filter(target, name, args, kwargs, loc):
            let value = try eval(target)
            let arguments = JinjaArguments(positional: try args.map(eval), keyword: try kwargs.map { ($0.0, try eval($0.1)) })
            return try located(loc) { try JinjaBuiltins.filter(name, value, arguments) }
        case let .test(target, name, args, negated, loc):
            let value = try eval(target)
            let arguments = try args.map(eval)
            let result = try located(loc) { try JinjaBuiltins.test(name, value, arguments) }
            return .bool(result != negated)
        case let .unary(op, operand, loc):
            let value = try eval(operand)
            switch op {
            case "not": return .bool(!value.isTruthy)
            default: return try located(loc) { try JinjaBuiltins.negate(value, minus: op == "-") }
            }
        case let .binary(op, left, right, loc):
            let l = try eval(left)
            if op == "and" { return l.isTruthy ? try eval(right) : l }
            if op == "or" { return l.isTruthy ? l : try eval(right) }
            let r = try eval(right)
            return try located(loc) { try JinjaBuiltins.arithmetic(op, l, r) }
        case let .compare(first, rest, loc):
            var left = try eval(first)
            for (op, rightExpr) in rest {
                let right = try eval(rightExpr)
                let holds = try located(loc) { try JinjaBuiltins.compare(op, left, right) }
                if !holds { return .bool(false) }
                left = right
            }
            return .bool(true)
        case let .conditional(then, test, otherwise, _):
            if try eval(test).isTruthy { return try eval(then) }
            return try otherwise.map(eval) ?? .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }
}
