// Fuzz/chat_request — libFuzzer target for the body of POST /v1/chat/completions
// (Sources/OCRServe/OpenAITypes.swift, compiled alone with swiftc): JSONDecoder into
// ChatCompletionRequest, messages, content parts and image URLs. Bad bodies throw DecodingError
// (the server turns it into a 400 naming the field); nothing may trap.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let body = Data(data.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0))
    do {
        let request = try JSONDecoder().decode(ChatCompletionRequest.self, from: body)
        for message in request.messages { _ = message }
    } catch is DecodingError {
    } catch {
        fatalError("untyped error: \(error)")
    }
    return 0
}
