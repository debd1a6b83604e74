// ChatTemplate.swift — Hugging Face chat templates (`apply_chat_template`
// with tokenize=False) rendered by our Jinja subset, with the variables and
// message preparation of transformers' `render_jinja_template`, and the
// lookup of a model folder's template.

import Foundation

// MARK: - Errors

/// Errors raised while loading or rendering a chat template.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    /// The template does not parse.
    case syntax(message: String, location: TemplateLocation)
    /// Rendering failed (undefined value, bad operand, unknown filter...).
    case runtime(message: String, location: TemplateLocation)
    /// The template called `raise_exception(message)`.
    case raised(message: String)
    /// A file could not be read or is not valid JSON.
    case unreadable(file: String, reason: String)
    /// A field holding the template has the wrong type.
    case invalidField(file: String, field: String, reason: String)
    /// The folder has no chat template.
    case notFound(directory: String)
    /// tokenizer_config.json lists named templates, none with the requested name.
    case unknownName(file: String, name: String, available: [String])

    public var description: String {
        switch self {
        case let .syntax(message, location): return "chat template, \(location): syntax error: \(message)"
        case let .runtime(message, location): return "chat template, \(location): \(message)"
        case let .raised(message): return "chat template raised an exception: \(message)"
        case let .unreadable(file, reason): return "\(file): cannot read: \(reason)"
        case let .invalidField(file, field, reason): return "\(file): field '\(field)': \(reason)"
        case let .notFound(directory):
            return "\(directory): no chat template (chat_template.jinja, chat_template.json, processor_config.json "
                + "or tokenizer_config.json 'chat_template')"
        case let .unknownName(file, name, available):
            return "\(file): no chat template named '\(name)' (available: \(available.joined(separator: ", ")))"
        }
    }
}

// MARK: - Messages

/// One chat message as transformers takes it: a role, and content that is
/// either a string or a list of typed parts.
public struct ChatMessage: Sendable {
    public enum Part: Sendable, Equatable {
        case text(String)
        case image
        case video
    }

    public enum Content: Sendable {
        case text(String)
        case parts([Part])
    }

    public var role: String
    public var content: Content
    /// Further message fields the template may read (`tool_calls`, `reasoning_content`, `name`).
    public var fields: [(String, TemplateValue)]

    public init(role: String, content: Content, fields: [(String, TemplateValue)] = []) {
        self.role = role
        self.content = content
        self.fields = fields
    }

    public init(role: String, text: String) { self.init(role: role, content: .text(text)) }
    public init(role: String, parts: [Part]) { self.init(role: role, content: .parts(parts)) }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", text: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", text: text) }
    public static func user(_ parts: [Part]) -> ChatMessage { ChatMessage(role: "user", parts: parts) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", text: text) }

    /// The message as the template sees it: `{"role": ..., "content": ..., fields...}`;
    /// parts are `{"type": "image"}`, `{"type": "video"}`, `{"type": "text", "text": ...}`.
    public var templateValue: TemplateValue {
        let content: TemplateValue
        switch self.content {
        case let .text(t): content = .string(t)
        case let .parts(parts):
            content = .array(parts.map { part in
                switch part {
                case let .text(t): return .object([("type", "text"), ("text", .string(t))])
                case .image: return .object([("type", "image")])
                case .video: return .object([("type", "video")])
                }
            })
        }
        return .object([("role", .string(role)), ("content", content)] + fields)
    }
}

// MARK: - Template

/// A parsed chat template.
public final class ChatTemplate: @unchecked Sendable {  // immutable after init
    public let source: String
    private let nodes: [JinjaNode]

    /// Parses `source`; syntax errors name the line and column.
    public init(source: String) throws {
        self.source = source
        nodes = try JinjaParser.parse(source)
    }

    /// Renders typed messages; see `render(conversation:...)`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool = false, tools: [TemplateValue]? = nil,
                       documents: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:]) throws -> String
    {
        try render(conversation: messages.map(\.templateValue), addGenerationPrompt: addGenerationPrompt, tools: tools,
                   documents: documents, extra: extra)
    }

    /// Renders JSON-like messages as transformers' `apply_chat_template(..., tokenize=False)`:
    /// the variables `messages`, `tools`, `documents`, `add_generation_prompt` and `extra`
    /// (`add_vision_id`, `enable_thinking`, special tokens such as `bos_token`...).
    /// A message with `reasoning_content`, `thinking` or `reasoning` gets the first of them
    /// under both `thinking` and `reasoning_content`, as transformers aliases them.
    public func render(conversation: [TemplateValue], addGenerationPrompt: Bool = false, tools: [TemplateValue]? = nil,
                       documents: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:]) throws -> String
    {
        var variables = extra
        variables["messages"] = .array(conversation.map(Self.aliasReasoning))
        variables["tools"] = tools.map { .array($0) } ?? .null
        variables["documents"] = documents.map { .array($0) } ?? .null
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try render(variables: variables)
    }

    /// Renders with exactly these variables.
    public func render(variables: [String: TemplateValue]) throws -> String {
        try JinjaInterpreter(variables: variables.mapValues(JinjaValue.init)).render(nodes)
    }

    /// The conversation as transformers' processors (`ProcessorMixin.apply_chat_template`)
    /// hand it to the template: message keys whose value is null dropped, and OpenAI
    /// `{"type": "image_url", "image_url": {"url": u}}` parts rewritten to `{"type": "image", "url": u}`.
    /// Processors also pass the tokenizer's special tokens (`eos_token`...) as variables: give them in `extra`.
    public static func processorConversation(_ conversation: [TemplateValue]) -> [TemplateValue] {
        conversation.map { message in
            guard case let .object(pairs) = message else { return message }
            return .object(pairs.compactMap { key, value in
                if value == .null { return nil }
                guard key == "content", case let .array(parts) = value else { return (key, value) }
                return (key, .array(parts.map { part in
                    guard part["type"] == "image_url", let info = part["image_url"] else { return part }
                    let url: TemplateValue
                    if case .object = info { url = info["url"] ?? "" } else { url = info }
                    return .object([("type", "image"), ("url", url)])
                }))
            })
        }
    }

    private static let reasoningFields = ["reasoning_content", "thinking", "reasoning"]

    private static func aliasReasoning(_ message: TemplateValue) -> TemplateValue {
        guard case var .object(pairs) = message else { return message }
        let reasoning = reasoningFields.lazy.compactMap { key -> TemplateValue? in
            guard let v = message[key], v != .null else { return nil }
            return v
        }.first
        guard let reasoning else { return message }
        if !pairs.contains(where: { $0.0 == "thinking" }) { pairs.insert(("thinking", reasoning), at: 0) }
        if let i = pairs.firstIndex(where: { $0.0 == "reasoning_content" }) {
            pairs[i].1 = reasoning
        } else {
            pairs.append(("reasoning_content", reasoning))
        }
        return .object(pairs)
    }

    // MARK: Loading from a model folder

    /// The template of a model folder, looked up as transformers does: `chat_template.jinja`,
    /// then `chat_template.json`, `processor_config.json` and `tokenizer_config.json`
    /// (`chat_template` as a string, or a list of `{"name", "template"}`: `name`, else "default").
    public static func load(directory: URL, name: String? = nil) throws -> ChatTemplate {
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja.path) {
            guard let text = try? String(contentsOf: jinja, encoding: .utf8) else {
                throw ChatTemplateError.unreadable(file: jinja.lastPathComponent, reason: "not UTF-8 text")
            }
            return try ChatTemplate(source: text)
        }
        for file in ["chat_template.json", "processor_config.json", "tokenizer_config.json"] {
            let url = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            if let source = try templateField(url, name: name) { return try ChatTemplate(source: source) }
        }
        throw ChatTemplateError.notFound(directory: directory.lastPathComponent)
    }

    /// The `chat_template` member of a JSON config, nil when absent.
    static func templateField(_ url: URL, name: String?) throws -> String? {
        let file = url.lastPathComponent
        let root: TemplateValue
        do {
            root = try TemplateValue(json: try Data(contentsOf: url))
        } catch {
            throw ChatTemplateError.unreadable(file: file, reason: "\(error)")
        }
        switch root["chat_template"] {
        case nil, .null?: return nil
        case let .string(s)?: return s
        case let .array(items)?:
            var named: [(String, String)] = []
            for (i, item) in items.enumerated() {
                guard case let .string(n)? = item["name"], case let .string(t)? = item["template"] else {
                    throw ChatTemplateError.invalidField(file: file, field: "chat_template[\(i)]",
                                                         reason: "expected {\"name\": ..., \"template\": ...}")
                }
                named.append((n, t))
            }
            let wanted = name ?? "default"
            guard let hit = named.first(where: { $0.0 == wanted }) else {
                throw ChatTemplateError.unknownName(file: file, name: wanted, available: named.map(\.0))
            }
            return hit.1
        default:
            throw ChatTemplateError.invalidField(file: file, field: "chat_template", reason: "expected a string or a list")
        }
    }
}
