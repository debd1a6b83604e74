import Foundation
import XCTest
import OCRText

/// Engine features one at a time: small templates rendered by transformers'
/// Jinja environment (`features` of rendered.json), error messages with
/// template positions, and finding the template in a model folder.
final class JinjaEngineTests: XCTestCase {
    // MARK: Feature fixture

    func testFeaturesMatchJinja() throws {
        guard case let .array(cases)? = try ChatTemplateParityTests.rendered()["features"] else {
            return XCTFail("no features in rendered.json")
        }
        XCTAssertGreaterThanOrEqual(cases.count, 40)
        var failures = 0
        for c in cases {
            guard case let .string(name)? = c["name"], case let .string(source)? = c["template"],
                  case let .object(variables)? = c["variables"]
            else { return XCTFail("malformed feature case") }
            let result = Result {
                try ChatTemplate(source: source).render(variables: Dictionary(variables, uniquingKeysWith: { $1 }))
            }
            switch (result, c["expected"]) {
            case let (.success(got), .string(expected)?):
                if !got.unicodeScalars.elementsEqual(expected.unicodeScalars) {
                    failures += 1
                    XCTFail("\(name):\n got \(got.debugDescription)\nwant \(expected.debugDescription)")
                }
            case let (.failure(error), .string?):
                failures += 1
                XCTFail("\(name): \(error)")
            case let (.success(got), _):
                failures += 1
                XCTFail("\(name): rendered \(got.debugDescription), Jinja raised \(c["error"].debugDescription)")
            case (.failure, _):
                break
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: Errors with positions

    func render(_ source: String, _ variables: [String: TemplateValue] = [:]) throws -> String {
        try ChatTemplate(source: source).render(variables: variables)
    }

    func testSyntaxErrorsNameLineAndColumn() {
        XCTAssertThrowsError(try ChatTemplate(source: "ok\n  {% if x %}open")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .syntax(
                message: "unexpected end of template, expected 'elif' or 'else' or 'endif'",
                location: TemplateLocation(line: 2, column: 3)))
        }
        XCTAssertThrowsError(try ChatTemplate(source: "a\nb {{ x + }}")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .syntax(
                message: "expected an expression, got end of tag", location: TemplateLocation(line: 2, column: 3)))
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{% frobnicate %}")) { error in
            XCTAssertEqual("\(error)", "chat template, line 1, column 1: syntax error: unknown tag 'frobnicate'")
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{{ 'abc }}")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .syntax(
                message: "unterminated string literal", location: TemplateLocation(line: 1, column: 4)))
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{% endfor %}")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .syntax(message: "unknown tag 'endfor'",
                                                                location: TemplateLocation(line: 1, column: 1)))
        }
        XCTAssertThrowsError(try ChatTemplate(source: "x {{ a b }}")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .syntax(
                message: "unexpected 'b' at the end of the tag", location: TemplateLocation(line: 1, column: 8)))
        }
    }

    func testRuntimeErrorsNameLineAndColumn() {
        XCTAssertThrowsError(try render("line\n\n  {{ message.content }}")) { error in
            XCTAssertEqual(error as? ChatTemplateError, .runtime(
                message: "'message' is undefined", location: TemplateLocation(line: 3, column: 13)))
        }
        XCTAssertThrowsError(try render("{{ m.role.x.y }}", ["m": ["content": "hi"]])) { error in
            XCTAssertEqual(error as? ChatTemplateError, .runtime(
                message: "'dict object' has no attribute 'role'", location: TemplateLocation(line: 1, column: 10)))
        }
        XCTAssertThrowsError(try render("{{ 'a' + 1 }}")) { error in
            XCTAssertEqual("\(error)", "chat template, line 1, column 8: unsupported operand type(s) for +: 'str' and 'int'")
        }
        // Unknown filters and tests fail when reached, as in Jinja2 (which renders "ok" here too).
        XCTAssertEqual(try render("{% if false %}{{ x|nosuch }}{{ x is frob }}{% endif %}ok"), "ok")
        XCTAssertThrowsError(try render("\n  {{ x|nosuch }}", ["x": 1])) { error in
            XCTAssertEqual(error as? ChatTemplateError, .runtime(
                message: "no filter named 'nosuch'", location: TemplateLocation(line: 2, column: 7)))
        }
        XCTAssertThrowsError(try render("{{ x is frob }}", ["x": 1])) { error in
            XCTAssertEqual("\(error)", "chat template, line 1, column 6: no test named 'frob'")
        }
        XCTAssertThrowsError(try render("{{ x|urlize }}", ["x": 1])) { error in
            XCTAssertEqual(error as? ChatTemplateError, .runtime(
                message: "filter 'urlize' is not supported", location: TemplateLocation(line: 1, column: 5)))
        }
        XCTAssertThrowsError(try render("{% set x.a = 1 %}", ["x": 1])) { error in
            XCTAssertEqual(error as? ChatTemplateError, .runtime(
                message: "cannot assign attribute on non-namespace object 'x'", location: TemplateLocation(line: 1, column: 1)))
        }
    }

    func testRaiseException() {
        let source = "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}"
            + "{{ raise_exception('Unexpected role: ' + m.role) }}{% endif %}{% endfor %}"
        XCTAssertThrowsError(try ChatTemplate(source: source).render(messages: [.user("a"), ChatMessage(role: "robot", text: "b")])) {
            XCTAssertEqual($0 as? ChatTemplateError, .raised(message: "Unexpected role: robot"))
            XCTAssertEqual("\($0)", "chat template raised an exception: Unexpected role: robot")
        }
        XCTAssertEqual(try ChatTemplate(source: source).render(messages: [.user("a"), .assistant("b")]), "")
    }

    // MARK: Messages and variables

    func testMessagePartsAndReasoningAlias() throws {
        let t = try ChatTemplate(source: "{% for m in messages %}{{ m|tojson }}\n{% endfor %}{{ add_generation_prompt }} {{ tools }}")
        let out = try t.render(messages: [
            .user([.text("hi"), .image, .video]),
            ChatMessage(role: "assistant", content: .text("4"), fields: [("reasoning", "add")]),
        ])
        XCTAssertEqual(out, """
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image"}, {"type": "video"}]}
            {"thinking": "add", "role": "assistant", "content": "4", "reasoning": "add", "reasoning_content": "add"}
            False None
            """)
    }

    // MARK: Model folders

    func testLoadFromModelFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ct-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try ChatTemplate.load(directory: dir)) {
            XCTAssertEqual($0 as? ChatTemplateError, .notFound(directory: dir.lastPathComponent))
        }
        // tokenizer_config.json with a list of named templates.
        let config = #"{"chat_template": [{"name": "default", "template": "D{{ x }}"}, {"name": "tool_use", "template": "T"}]}"#
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(variables: ["x": 1]), "D1")
        XCTAssertEqual(try ChatTemplate.load(directory: dir, name: "tool_use").render(variables: [:]), "T")
        XCTAssertThrowsError(try ChatTemplate.load(directory: dir, name: "rag")) {
            XCTAssertEqual("\($0)", "tokenizer_config.json: no chat template named 'rag' (available: default, tool_use)")
        }
        // chat_template.json wins over tokenizer_config.json, chat_template.jinja over both.
        try #"{"chat_template": "J"}"#.write(to: dir.appendingPathComponent("chat_template.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(variables: [:]), "J")
        try "Jinja\n".write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(variables: [:]), "Jinja")
        // A wrongly typed field is named.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("chat_template.jinja"))
        try #"{"chat_template": 3}"#.write(to: dir.appendingPathComponent("chat_template.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ChatTemplate.load(directory: dir)) {
            XCTAssertEqual("\($0)", "chat_template.json: field 'chat_template': expected a string or a list")
        }
    }
}
