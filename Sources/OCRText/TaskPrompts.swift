// TaskPrompts.swift — the user prompts of the OCR tasks (plain text, LaTeX,
// field extraction to JSON) and the reader of a field-extraction answer:
// the first JSON object in the model's text (```json fences tolerated),
// checked against the requested field names.

import Foundation

// MARK: - Tasks

/// What the vision-language model is asked to do with the image(s).
public enum OCRTask: Sendable, Equatable {
    /// Transcribe all text ("Free OCR.").
    case plainText
    /// The formula or document as LaTeX.
    case latex
    /// The named fields as one JSON object.
    case fields([String])
    /// A prompt given verbatim.
    case custom(String)

    /// The instruction text of the user message.
    public var prompt: String {
        switch self {
        case .plainText: return "Free OCR."
        case .latex: return "Write the LaTeX representation for this image."
        case let .fields(names):
            let keys = names.map(jsonQuote).joined(separator: ", ")
            return "Extract the following fields from the document: \(keys). "
                + "Answer with only a JSON object that has exactly these keys, each with the field's text as a string, "
                + "or null when the field is not in the document."
        case let .custom(text): return text
        }
    }

    /// The task a command line asks for: `task` (ocr, latex or fields, the last with `fields`
    /// "a,b,c"), with `prompt` replacing the task's prompt; nil when neither is given.
    public static func parse(task: String?, fields: String?, prompt: String?) throws -> OCRTask? {
        let names = (fields ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if fields != nil && task != "fields" { throw TaskError("--fields needs --task fields") }
        switch task {
        case nil: return prompt.map(OCRTask.custom)
        case "ocr"?: return prompt.map(OCRTask.custom) ?? .plainText
        case "latex"?: return prompt.map(OCRTask.custom) ?? .latex
        case "fields"?:
            guard !names.isEmpty else { throw TaskError("--task fields needs --fields a,b,c") }
            return prompt.map(OCRTask.custom) ?? .fields(names)
        case let other?: throw TaskError("--task \(other): expected ocr, latex or fields")
        }
    }

    /// The field names of a fields task (nil for other tasks).
    public var fieldNames: [String]? {
        if case let .fields(names) = self { return names }
        return nil
    }

    /// The user message: `imageCount` image parts, then the prompt.
    public func message(imageCount: Int = 1) -> ChatMessage {
        .user(Array(repeating: .image, count: max(0, imageCount)) + [.text(prompt)])
    }
}

/// A task argument that cannot be used.
public struct TaskError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Field answers

/// The fields read from a model answer.
public struct FieldAnswer: Sendable, Equatable {
    /// Requested fields found in the object, as text: strings unchanged, numbers and booleans
    /// as JSON writes them, null as "" (absent for field metrics), arrays and objects as `json.dumps` writes them.
    public var values: [String: String]
    /// Requested fields the object lacks.
    public var missing: [String]
    /// Keys of the object that were not requested, in answer order.
    public var extra: [String]

    /// Every requested field present and nothing else.
    public var isComplete: Bool { missing.isEmpty && extra.isEmpty }
}

public enum FieldAnswerError: Error, Equatable, CustomStringConvertible {
    /// No `{...}` in the answer parses as a JSON object.
    case noJSONObject(reason: String)

    public var description: String {
        switch self {
        case let .noJSONObject(reason): return "the answer holds no JSON object: \(reason)"
        }
    }
}

public enum FieldAnswerParser {
    /// Reads the first JSON object of `answer` and checks it against `fields`.
    public static func parse(_ answer: String, fields: [String]) throws -> FieldAnswer {
        let members = try firstObject(in: answer)
        var values: [String: String] = [:]
        var extra: [String] = []
        for (key, value) in members {
            if fields.contains(where: { sameScalars($0, key) }) {
                values[key] = text(value)
            } else if !extra.contains(where: { sameScalars($0, key) }) {
                extra.append(key)
            }
        }
        let missing = fields.filter { f in !members.contains { sameScalars($0.0, f) } }
        return FieldAnswer(values: values, missing: missing, extra: extra)
    }

    /// The members of the first balanced `{...}` that parses as JSON; strings are
    /// skipped while balancing, so braces inside values do not end the object.
    static func firstObject(in answer: String) throws -> [(String, JSONValue)] {
        let bytes = Array(answer.utf8)
        var lastError = "no '{' found"
        var start = 0
        while let open = bytes[start...].firstIndex(of: UInt8(ascii: "{")) {
            if let close = matchingBrace(bytes, from: open) {
                do {
                    if case let .object(members) = try JSONParser.parse(Data(bytes[open...close])) { return members }
                } catch {
                    lastError = "\(error)"
                }
            } else {
                lastError = "unbalanced braces"
            }
            start = open + 1
        }
        throw FieldAnswerError.noJSONObject(reason: lastError)
    }

    private static func matchingBrace(_ bytes: [UInt8], from open: Int) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for i in open..<bytes.count {
            let b = bytes[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
        }
        return nil
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case let .string(s): return s
        default: return (try? JinjaValue(TemplateValue(value)).json(indent: nil)) ?? ""
        }
    }
}
