import Foundation
import XCTest
import OCRText

/// The real Qwen2.5-VL, Qwen3-VL and Qwen3 chat templates rendered here and by
/// transformers (`render_jinja_template`, what `apply_chat_template(tokenize=False)`
/// uses) on the conversations of tools/make_chat_template_fixtures.py.
final class ChatTemplateParityTests: XCTestCase {
    static var folder: URL {
        TokenizerParityTests.fixtures.appendingPathComponent("chat_templates")
    }

    static func rendered() throws -> TemplateValue {
        try TemplateValue(json: Data(contentsOf: folder.appendingPathComponent("rendered.json")))
    }

    func checkTemplate(_ name: String, minimumCases: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        guard case let .object(entry)? = try Self.rendered()["templates"]?[name],
              case let .string(fileName)? = TemplateValue.object(entry)["file"],
              case let .array(cases)? = TemplateValue.object(entry)["cases"]
        else { return XCTFail("no fixture for \(name)", file: file, line: line) }
        let url = Self.folder.appendingPathComponent(fileName)
        let template: ChatTemplate
        if fileName.hasSuffix(".json") {
            // Load through a model-folder layout, as a real checkpoint has it.
            let dir = try Self.folderWith(fileName)
            defer { try? FileManager.default.removeItem(at: dir) }
            template = try ChatTemplate.load(directory: dir)
        } else {
            template = try ChatTemplate(source: String(contentsOf: url, encoding: .utf8))
        }
        XCTAssertGreaterThanOrEqual(cases.count, minimumCases, file: file, line: line)
        var checked = 0, processorChecked = 0
        let processorCases = cases.filter { $0["expected_processor"] != nil || $0["error_processor"] != nil }.count
        guard case let .object(tokens)? = try Self.rendered()["special_tokens"] else {
            return XCTFail("no special_tokens in the fixture", file: file, line: line)
        }
        let specialTokens = Dictionary(tokens, uniquingKeysWith: { $1 })
        for c in cases {
            guard case let .string(caseName)? = c["name"], case let .array(messages)? = c["messages"],
                  case let .bool(generation)? = c["add_generation_prompt"], case let .object(extra)? = c["extra"]
            else { return XCTFail("malformed case in \(name)", file: file, line: line) }
            var tools: [TemplateValue]?
            if case let .array(t)? = c["tools"] { tools = t }
            let result = Result {
                try template.render(conversation: messages, addGenerationPrompt: generation, tools: tools,
                                    extra: Dictionary(extra, uniquingKeysWith: { $1 }))
            }
            switch (result, c["expected"]) {
            case let (.success(got), .string(expected)?):
                XCTAssertTrue(got.unicodeScalars.elementsEqual(expected.unicodeScalars),
                              "\(name) / \(caseName):\n got \(got.debugDescription)\nwant \(expected.debugDescription)",
                              file: file, line: line)
            case let (.failure(error), .string?):
                XCTFail("\(name) / \(caseName): \(error)", file: file, line: line)
            case (.success, _):
                XCTFail("\(name) / \(caseName): rendered, but transformers raised \(c["error"].debugDescription)",
                        file: file, line: line)
            case (.failure, _):
                break  // both fail
            }
            checked += 1
            // The processor path, for the vision templates.
            guard c["expected_processor"] != nil || c["error_processor"] != nil else { continue }
            let processorResult = Result {
                try template.render(conversation: ChatTemplate.processorConversation(messages), addGenerationPrompt: generation,
                                    tools: tools, extra: specialTokens.merging(extra, uniquingKeysWith: { $1 }))
            }
            switch (processorResult, c["expected_processor"]) {
            case let (.success(got), .string(expected)?):
                XCTAssertTrue(got.unicodeScalars.elementsEqual(expected.unicodeScalars),
                              "\(name) / \(caseName) (processor):\n got \(got.debugDescription)\nwant \(expected.debugDescription)",
                              file: file, line: line)
            case let (.failure(error), .string?):
                XCTFail("\(name) / \(caseName) (processor): \(error)", file: file, line: line)
            case (.success, _):
                XCTFail("\(name) / \(caseName) (processor): rendered, but transformers raised", file: file, line: line)
            case (.failure, _):
                break
            }
            processorChecked += 1
        }
        if processorCases > 0 { XCTAssertEqual(processorChecked, cases.count, file: file, line: line) }
        XCTAssertEqual(checked, cases.count, file: file, line: line)
    }

    func testQwen25VLTemplate() throws { try checkTemplate("qwen2_5_vl", minimumCases: 30) }
    func testQwen3VLTemplate() throws { try checkTemplate("qwen3_vl", minimumCases: 30) }
    func testQwen3TextTemplate() throws { try checkTemplate("qwen3", minimumCases: 15) }

    func testProcessorConversation() {
        let messages: [TemplateValue] = [
            ["role": "user", "content": [["type": "image_url", "image_url": ["url": "u"]], ["type": "image_url", "image_url": "v"],
                                         ["type": "text", "text": "t"]]],
            ["role": "assistant", "content": .null, "tool_calls": [], "name": .null],
        ]
        XCTAssertEqual(ChatTemplate.processorConversation(messages), [
            ["role": "user", "content": [["type": "image", "url": "u"], ["type": "image", "url": "v"], ["type": "text", "text": "t"]]],
            ["role": "assistant", "tool_calls": []],
        ])
    }

    /// Typed messages give the same prompt as the JSON form transformers takes.
    func testTypedMessagesMatchFixture() throws {
        let template = try ChatTemplate.load(directory: try Self.folderWith("qwen3_vl_instruct.chat_template.json"))
        guard case let .array(cases)? = try Self.rendered()["templates"]?["qwen3_vl"]?["cases"],
              case let .string(expected)? = cases.first(where: { $0["name"] == "two images vision id" })?["expected"]
        else { return XCTFail("fixture case missing") }
        let prompt = try template.render(messages: [.user([.image, .image, .text("Compare these pages.")])],
                                         addGenerationPrompt: true, extra: ["add_vision_id": true])
        XCTAssertEqual(prompt, expected)
        XCTAssertTrue(prompt.contains("Picture 2: <|vision_start|><|image_pad|><|vision_end|>"))
    }

    /// A temporary model folder holding `file` as chat_template.json.
    static func folderWith(_ file: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ct-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder.appendingPathComponent(file),
                                         to: dir.appendingPathComponent("chat_template.json"))
        return dir
    }
}
