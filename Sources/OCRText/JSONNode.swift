// JSONNode.swift — path-aware access to a parsed tokenizer.json, so that a
// malformed file is reported with the file name and the offending field.

import Foundation

// MARK: - Errors

/// Errors raised while loading a tokenizer.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The file is not valid JSON.
    case invalidJSON(file: String, reason: String)
    /// A required field is absent.
    case missingField(file: String, field: String)
    /// A field has the wrong type or an unusable value.
    case invalidField(file: String, field: String, reason: String)
    /// A component type that this library does not implement.
    case unsupported(file: String, field: String, type: String)
    /// A directory holds neither tokenizer.json nor vocab.json + merges.txt.
    case noTokenizerFiles(directory: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read: \(reason)"
        case let .invalidJSON(file, reason): return "\(file): invalid JSON: \(reason)"
        case let .missingField(file, field): return "\(file): missing field '\(field)'"
        case let .invalidField(file, field, reason): return "\(file): field '\(field)': \(reason)"
        case let .unsupported(file, field, type): return "\(file): field '\(field)': unsupported type '\(type)'"
        case let .noTokenizerFiles(directory):
            return "\(directory): no tokenizer.json, nor vocab.json + merges.txt"
        }
    }
}

// MARK: - JSONNode

/// One value of a parsed JSON document together with its path ("model.merges[3]").
struct JSONNode {
    let value: JSONValue
    let path: String
    let file: String

    init(value: JSONValue, path: String, file: String) {
        self.value = value
        self.path = path
        self.file = file
    }

    /// Parses `data`; `file` names the source in error messages.
    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            return JSONNode(value: try JSONParser.parse(data), path: "", file: file)
        } catch {
            throw TokenizerError.invalidJSON(file: file, reason: "\(error)")
        }
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func invalid(_ reason: String) -> TokenizerError {
        .invalidField(file: file, field: path.isEmpty ? "<root>" : path, reason: reason)
    }

    // MARK: Objects

    /// Members in file order.
    func members() throws -> [(String, JSONNode)] {
        guard case let .object(pairs) = value else { throw invalid("expected an object") }
        return pairs.map { ($0.0, JSONNode(value: $0.1, path: childPath($0.0), file: file)) }
    }

    /// The member `key`, or nil when absent or null.
    func optional(_ key: String) throws -> JSONNode? {
        guard case let .object(pairs) = value else { throw invalid("expected an object") }
        let k = TokenKey(key)
        guard let member = pairs.last(where: { TokenKey($0.0) == k })?.1 else { return nil }
        if case .null = member { return nil }
        return JSONNode(value: member, path: childPath(key), file: file)
    }

    func required(_ key: String) throws -> JSONNode {
        guard let node = try optional(key) else {
            throw TokenizerError.missingField(file: file, field: childPath(key))
        }
        return node
    }

    func has(_ key: String) -> Bool { (try? optional(key)) != nil }

    // MARK: Arrays

    func array() throws -> [JSONNode] {
        guard case let .array(items) = value else { throw invalid("expected an array") }
        return items.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// Raw items, without building a path per item (large vocabularies);
    /// `element(_:_:)` makes the node for an error message.
    func rawItems() throws -> [JSONValue] {
        guard case let .array(items) = value else { throw invalid("expected an array") }
        return items
    }

    func element(_ index: Int, _ item: JSONValue) -> JSONNode {
        JSONNode(value: item, path: "\(path)[\(index)]", file: file)
    }

    var isArray: Bool { if case .array = value { return true } else { return false } }

    // MARK: Scalars

    func string() throws -> String {
        guard case let .string(s) = value else { throw invalid("expected a string") }
        return s
    }

    func int() throws -> Int {
        switch value {
        case let .int(i): return i
        case let .double(d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: throw invalid("expected an integer")
        }
    }

    func double() throws -> Double {
        switch value {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: throw invalid("expected a number")
        }
    }

    func bool() throws -> Bool {
        guard case let .bool(b) = value else { throw invalid("expected a boolean") }
        return b
    }

    // MARK: Convenience

    func string(_ key: String) throws -> String { try required(key).string() }
    func optionalString(_ key: String) throws -> String? { try optional(key)?.string() }
    func int(_ key: String) throws -> Int { try required(key).int() }
    func optionalInt(_ key: String) throws -> Int? { try optional(key)?.int() }
    func bool(_ key: String, default fallback: Bool) throws -> Bool { try optional(key)?.bool() ?? fallback }
    func double(_ key: String) throws -> Double { try required(key).double() }

    /// The component's "type" member.
    func typeName() throws -> String { try string("type") }

    func unsupported(_ type: String) -> TokenizerError {
        .unsupported(file: file, field: childPath("type"), type: type)
    }
}
