// Fuzz/chat_template — libFuzzer target for the Jinja chat-template engine (Sources/OCRText,
// compiled in with swiftc): the input is a template's source, lexed, parsed and rendered over a
// fixed conversation (system, user text, user image + text, assistant with reasoning) as
// transformers' apply_chat_template calls it. Syntax and render errors may be thrown; nothing may
// trap.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    guard let template = try? ChatTemplate(source: source) else { return 0 }
    let conversation: [TemplateValue] = [
        .object([("role", "system"), ("content", "You read documents.")]),
        .object([("role", "user"), ("content", .array([
            .object([("type", "image")]), .object([("type", "text"), ("text", "What does it say?")]),
        ]))]),
        .object([("role", "assistant"), ("content", "It says 42."), ("reasoning_content", "Looked at it.")]),
        .object([("role", "user"), ("content", "Thanks")]),
    ]
    _ = try? template.render(conversation: conversation, addGenerationPrompt: true,
                             extra: ["bos_token": "<s>", "eos_token": "</s>", "add_vision_id": true])
    return 0
}
