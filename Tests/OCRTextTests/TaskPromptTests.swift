import Foundation
import XCTest
import OCRText

/// OCR task prompts and reading field-extraction answers.
final class TaskPromptTests: XCTestCase {
    func testPrompts() throws {
        XCTAssertEqual(OCRTask.plainText.prompt, "Free OCR.")
        XCTAssertEqual(OCRTask.custom("Read the table.").prompt, "Read the table.")
        let fields = OCRTask.fields(["total", "date", "vendor \"name\""]).prompt
        XCTAssertTrue(fields.hasPrefix(#"Extract the following fields from the document: "total", "date", "vendor \"name\"". "#))
        // The user message puts the images first, then the instruction.
        let message = OCRTask.latex.message(imageCount: 2)
        XCTAssertEqual(message.role, "user")
        guard case let .parts(parts) = message.content else { return XCTFail("expected parts") }
        XCTAssertEqual(parts, [.image, .image, .text("Write the LaTeX representation for this image.")])
    }

    /// The task message through the real Qwen2.5-VL template equals transformers'
    /// rendering of the same conversation ("one image then text" of the fixture).
    func testPromptThroughQwenTemplate() throws {
        let dir = try ChatTemplateParityTests.folderWith("qwen2_5_vl_instruct.chat_template.json")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prompt = try ChatTemplate.load(directory: dir).render(messages: [OCRTask.plainText.message()], addGenerationPrompt: true)
        guard case let .array(cases)? = try ChatTemplateParityTests.rendered()["templates"]?["qwen2_5_vl"]?["cases"],
              case let .string(expected)? = cases.first(where: { $0["name"] == "one image then text" })?["expected"]
        else { return XCTFail("fixture case missing") }
        XCTAssertEqual(prompt, expected)
        XCTAssertTrue(prompt.hasSuffix("<|vision_start|><|image_pad|><|vision_end|>Free OCR.<|im_end|>\n<|im_start|>assistant\n"))
    }

    func testFencedAnswer() throws {
        let answer = "Here you go:\n```json\n{\"total\": \"12.50\", \"date\": \"2024-01-31\", \"note\": \"paid {in full}\"}\n```\nDone."
        let parsed = try FieldAnswerParser.parse(answer, fields: ["total", "date", "vendor"])
        XCTAssertEqual(parsed.values, ["total": "12.50", "date": "2024-01-31"])
        XCTAssertEqual(parsed.missing, ["vendor"])
        XCTAssertEqual(parsed.extra, ["note"])
        XCTAssertFalse(parsed.isComplete)
    }

    func testValueKindsAndFirstValidObject() throws {
        // The first brace group is not JSON; the second is.
        let answer = #"{not json} then {"a": 12.5, "b": null, "c": true, "d": [1, "x"], "e": {"f": 2}, "a": 7}"#
        let parsed = try FieldAnswerParser.parse(answer, fields: ["a", "b", "c", "d", "e"])
        XCTAssertEqual(parsed.values, ["a": "7", "b": "", "c": "true", "d": #"[1, "x"]"#, "e": #"{"f": 2}"#])
        XCTAssertTrue(parsed.isComplete)
        XCTAssertEqual(try FieldAnswerParser.parse(#"{"a": "é\n"}"#, fields: ["a"]).values, ["a": "é\n"])
    }

    func testNoObject() {
        XCTAssertThrowsError(try FieldAnswerParser.parse("no json here", fields: ["a"])) {
            XCTAssertEqual($0 as? FieldAnswerError, .noJSONObject(reason: "no '{' found"))
        }
        XCTAssertThrowsError(try FieldAnswerParser.parse(#"{"a": "unterminated"#, fields: ["a"])) {
            XCTAssertEqual("\($0)", "the answer holds no JSON object: unbalanced braces")
        }
    }
}
