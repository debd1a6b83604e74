// What the serving tests share: the tiny model fixtures of OCRModelsTests (a PP-OCRv5 folder
// imported from its ONNX fixture, the Qwen2.5-VL folder), test images, an application over a
// model, and JSON / server-sent-event helpers.

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OCRImaging
import OCRModels
import XCTest

@testable import OCRServe

enum ServeFixtures {
    /// Tests/OCRModelsTests/Fixtures.
    static let modelFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("OCRModelsTests/Fixtures")

    static let qwenFolder = modelFixtures.appendingPathComponent("qwen2_5_vl-tiny")

    /// A PP-OCRv5 model folder imported from the tiny ONNX fixture (once per process).
    static let ppocrFolder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocrserve-ppocr-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        let fixtures = modelFixtures.appendingPathComponent("ppocr")
        do {
            let imported = try PPOCRONNXImporter.load(
                onnxPath: fixtures.appendingPathComponent("tiny-v5.onnx").path,
                dictionaryPath: fixtures.appendingPathComponent("tiny-dict.txt").path)
            try imported.write(to: folder)
        } catch {
            fatalError("cannot import the tiny PP-OCR fixture: \(error)")
        }
        return folder
    }()

    /// A deterministic line-like image: dark strokes on white whose layout depends on `seed`.
    static func line(width: Int, height: Int = 48, seed: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        var state = UInt64(seed &* 7919 &+ 17)
        for x in 0 ..< width {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            guard (state >> 33) % 3 == 0 else { continue }
            let top = Int((state >> 40) % UInt64(height / 2))
            for y in top ..< min(height, top + height / 2) {
                let i = (y * width + x) * 3
                pixels[i] = 20; pixels[i + 1] = 20; pixels[i + 2] = 20
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func png(_ image: RGBImage) -> Data { try! image.pngData() }

    static func dataURL(_ image: RGBImage) -> String { "data:image/png;base64," + png(image).base64EncodedString() }

    /// A PNG announcing `width` × `height` pixels: signature, IHDR, an IDAT with a few bytes of
    /// compressed data, IEND (CRCs valid, so a header probe reads it as a real PNG).
    static func pngHeader(width: UInt32, height: UInt32) -> Data {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + payload
            return be(UInt32(payload.count)) + body + be(crc32(body))
        }
        var d: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        d += chunk("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0])
        d += chunk("IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01])
        d += chunk("IEND", [])
        return Data(d)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    // MARK: Applications

    static func configuration(name: String = "tiny", _ change: (inout ServeConfiguration) -> Void = { _ in }) -> ServeConfiguration {
        var c = ServeConfiguration()
        c.modelName = name
        c.port = 0
        change(&c)
        return c
    }

    static func application(_ model: ServedModel, adapters: ServedAdapters = ServedAdapters(),
                            configuration: ServeConfiguration = configuration()) -> (some ApplicationProtocol, ServeState) {
        let state = ServeState(model: model, adapters: adapters, configuration: configuration)
        var logger = Logger(label: "ocrserve-test")
        logger.logLevel = .error
        return (buildApplication(state, logger: logger), state)
    }

    // MARK: Requests

    static func json(_ object: Any) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    static func chat(model: String = "tiny", image: RGBImage?, text: String? = nil, extra: [String: Any] = [:]) -> ByteBuffer {
        var content: [[String: Any]] = []
        if let image { content.append(["type": "image_url", "image_url": ["url": dataURL(image)]]) }
        if let text { content.append(["type": "text", "text": text]) }
        var body: [String: Any] = ["model": model, "messages": [["role": "user", "content": content]]]
        for (k, v) in extra { body[k] = v }
        return json(body)
    }

    static func object(_ response: TestResponse) throws -> [String: Any] {
        let data = Data(response.body.readableBytesView)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw XCTSkip("not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }

    /// The assistant message of a chat completion.
    static func content(_ object: [String: Any]) -> String? {
        ((object["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
    }

    /// The `data:` payloads of a server-sent-event body (`[DONE]` included).
    static func events(_ response: TestResponse) -> [String] {
        String(decoding: response.body.readableBytesView, as: UTF8.self)
            .components(separatedBy: "\n\n").compactMap { $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : nil }
    }

    /// The streamed content, finish reason and usage of an SSE chat answer.
    static func streamed(_ events: [String]) throws -> (content: String, reason: String?, usage: [String: Any]?) {
        var content = ""
        var reason: String?
        var usage: [String: Any]?
        for event in events where event != "[DONE]" {
            let chunk = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
            XCTAssertEqual(chunk["object"] as? String, "chat.completion.chunk")
            for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                content += (choice["delta"] as? [String: Any])?["content"] as? String ?? ""
                if let r = choice["finish_reason"] as? String { reason = r }
            }
            if let u = chunk["usage"] as? [String: Any] { usage = u }
        }
        return (content, reason, usage)
    }

    /// The error object of an OpenAI error body.
    static func error(_ response: TestResponse) throws -> [String: Any] {
        try XCTUnwrap(try object(response)["error"] as? [String: Any], "an OpenAI error object")
    }
}
