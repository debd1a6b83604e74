// The router over a line recognizer (the tiny PP-OCRv5 fixture): chat completions (plain and
// streamed), PaddleX's /ocr, /v1/models, /health and /metrics, with answers checked against the
// recognizer run directly on the same images, and batching of concurrent requests.

import Foundation
import Hummingbird
import HummingbirdTesting
import OCRImaging
import OCRModels
import XCTest

@testable import OCRServe

final class LineServingTests: XCTestCase {
    /// The fixture's texts read directly, each image alone (as `predict` reads lines that fit
    /// PaddleOCR's minimum width).
    func direct(_ images: [RGBImage]) throws -> [CTCResult] {
        let recognizer = try PPOCRTextRecognizer(folder: ServeFixtures.ppocrFolder)
        return try images.map { try recognizer.recognize([$0], options: RecognitionOptions(batchSize: 1))[0] }
    }

    func served(_ change: (inout ServeConfiguration) -> Void = { _ in }) throws -> (some ApplicationProtocol, ServeState) {
        ServeFixtures.application(try ServedModels.load(folder: ServeFixtures.ppocrFolder),
                                  configuration: ServeFixtures.configuration(change))
    }

    func testHealthModelsAndMetrics() async throws {
        let (app, _) = try served()
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(try ServeFixtures.object(response)["status"] as? String, "ok")
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let data = try XCTUnwrap(try ServeFixtures.object(response)["data"] as? [[String: Any]])
                XCTAssertEqual(data.map { $0["id"] as? String }, ["tiny"])
                XCTAssertEqual(data.first?["object"] as? String, "model")
            }
            let image = ServeFixtures.line(width: 200, seed: 1)
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                     body: ServeFixtures.chat(image: image))
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                XCTAssertTrue(text.contains(#"ocrtune_requests_total{endpoint="/v1/chat/completions",status="200"} 1"#), text)
                XCTAssertTrue(text.contains("ocrtune_images_total 1"), text)
                XCTAssertTrue(text.contains("ocrtune_request_duration_seconds_bucket"), text)
                XCTAssertTrue(text.contains("ocrtune_line_batch_size_count 1"), text)
            }
        }
    }

    func testChatAnswersEqualTheRecognizer() async throws {
        let images = [ServeFixtures.line(width: 180, seed: 3), ServeFixtures.line(width: 300, seed: 4)]
        let expected = try direct(images)
        XCTAssertTrue(expected.contains { !$0.text.isEmpty }, "the fixture reads something")
        let (app, _) = try served()
        try await app.test(.router) { client in
            for (image, want) in zip(images, expected) {
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                         body: ServeFixtures.chat(image: image, text: "Read the text.")) { response in
                    XCTAssertEqual(response.status, .ok)
                    let object = try ServeFixtures.object(response)
                    XCTAssertEqual(object["object"] as? String, "chat.completion")
                    XCTAssertEqual(object["model"] as? String, "tiny")
                    XCTAssertEqual(ServeFixtures.content(object), want.text)
                    let choice = try XCTUnwrap((object["choices"] as? [[String: Any]])?.first)
                    XCTAssertEqual(choice["finish_reason"] as? String, "stop")
                    let usage = try XCTUnwrap(object["usage"] as? [String: Any])
                    XCTAssertEqual(usage["completion_tokens"] as? Int, want.classes.count)
                    XCTAssertEqual(usage["total_tokens"] as? Int, want.classes.count)
                }
                // Streamed: the same text in chunks, the finish reason, the usage chunk and [DONE].
                let body = ServeFixtures.chat(image: image, extra: ["stream": true, "stream_options": ["include_usage": true]])
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                         body: body) { response in
                    XCTAssertEqual(response.status, .ok)
                    XCTAssertEqual(response.headers[.contentType], "text/event-stream")
                    let events = ServeFixtures.events(response)
                    XCTAssertEqual(events.last, "[DONE]")
                    let (content, reason, usage) = try ServeFixtures.streamed(events)
                    XCTAssertEqual(content, want.text)
                    XCTAssertEqual(reason, "stop")
                    XCTAssertEqual(usage?["completion_tokens"] as? Int, want.classes.count)
                }
            }
            // Two images in one message: one line each.
            let two: [String: Any] = ["model": "tiny", "messages": [["role": "user", "content": images.map {
                ["type": "image_url", "image_url": ["url": ServeFixtures.dataURL($0)]]
            }]]]
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                     body: ServeFixtures.json(two)) { response in
                XCTAssertEqual(ServeFixtures.content(try ServeFixtures.object(response)), expected.map(\.text).joined(separator: "\n"))
            }
        }
    }

    func testPaddleXOCR() async throws {
        let image = ServeFixtures.line(width: 240, seed: 5)
        let want = try direct([image])[0]
        let (app, _) = try served()
        try await app.test(.router) { client in
            let body = ServeFixtures.json(["file": ServeFixtures.png(image).base64EncodedString(), "fileType": 1])
            try await client.execute(uri: "/ocr", method: .post, headers: ServeFixtures.jsonHeaders, body: body) { response in
                XCTAssertEqual(response.status, .ok)
                let object = try ServeFixtures.object(response)
                XCTAssertEqual(object["errorCode"] as? Int, 0)
                XCTAssertEqual(object["errorMsg"] as? String, "Success")
                XCTAssertNotNil(object["logId"] as? String)
                let result = try XCTUnwrap(object["result"] as? [String: Any])
                let first = try XCTUnwrap((result["ocrResults"] as? [[String: Any]])?.first)
                let pruned = try XCTUnwrap(first["prunedResult"] as? [String: Any])
                XCTAssertEqual(pruned["rec_texts"] as? [String], want.text.isEmpty ? [] : [want.text])
                let scores = try XCTUnwrap(pruned["rec_scores"] as? [Double])
                if !want.text.isEmpty { XCTAssertEqual(scores[0], Double(want.confidence), accuracy: 1e-6) }
                XCTAssertEqual((result["dataInfo"] as? [String: Any])?["width"] as? Int, 240)
            }
            // PaddleX's error shape: errorCode is the HTTP status.
            let pdf = ServeFixtures.json(["file": "JVBERi0=", "fileType": 0])
            try await client.execute(uri: "/ocr", method: .post, headers: ServeFixtures.jsonHeaders, body: pdf) { response in
                XCTAssertEqual(response.status, .badRequest)
                let object = try ServeFixtures.object(response)
                XCTAssertEqual(object["errorCode"] as? Int, 400)
                XCTAssertTrue((object["errorMsg"] as? String)?.contains("PDF") ?? false)
            }
            let bomb = ServeFixtures.json(["file": ServeFixtures.pngHeader(width: 50_000, height: 50_000).base64EncodedString()])
            try await client.execute(uri: "/ocr", method: .post, headers: ServeFixtures.jsonHeaders, body: bomb) { response in
                XCTAssertEqual(response.status, .contentTooLarge)
                XCTAssertEqual(try ServeFixtures.object(response)["errorCode"] as? Int, 413)
            }
        }
    }

    /// Concurrent requests are batched (fewer batches than requests) and each gets its own text.
    func testConcurrentRequestsAreBatched() async throws {
        let images = (0 ..< 4).map { ServeFixtures.line(width: 160 + 20 * $0, seed: 10 + $0) }
        let expected = try direct(images).map(\.text)
        let (app, state) = try served { $0.batching.maxWaitMilliseconds = 200 }
        let count = 16
        try await app.test(.router) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0 ..< count {
                    group.addTask {
                        try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                                 body: ServeFixtures.chat(image: images[i % images.count])) { response in
                            (i, ServeFixtures.content(try ServeFixtures.object(response)))
                        }
                    }
                }
                var out = [String?](repeating: nil, count: count)
                for try await (i, text) in group { out[i] = text }
                return out
            }
            for i in 0 ..< count { XCTAssertEqual(answers[i], expected[i % images.count], "request \(i)") }
        }
        let exposition = state.metrics.exposition()
        let batches = try XCTUnwrap(exposition.components(separatedBy: "\n").first { $0.hasPrefix("ocrtune_line_batch_size_count") })
        let n = try XCTUnwrap(Int(batches.split(separator: " ").last ?? ""))
        XCTAssertLessThan(n, count, "some requests shared a batch")
        XCTAssertTrue(exposition.contains("ocrtune_images_total \(count)"), exposition)
    }

    /// Other line recognizers (TrOCR here) answer through the registry's TextRecognizer, within
    /// the decoder's learned positions.
    func testEncoderDecoderFamily() async throws {
        let folder = ServeFixtures.modelFixtures.appendingPathComponent("trocr-vit")
        let images = [ServeFixtures.line(width: 120, height: 40, seed: 1), ServeFixtures.line(width: 90, height: 60, seed: 2)]
        let recognizer = try XCTUnwrap(try ModelFamilies.load(folder) as? VisionEncoderDecoderRecognizer)
        // The fixture has 64 learned positions: the server generates within them.
        XCTAssertEqual(ServedLineRecognizer.positionLimit(recognizer), 63)
        recognizer.options.maxNewTokens = 63
        let want = try images.map { try recognizer.recognizeDetailed([$0])[0] }
        let model = try ServedModels.load(folder: folder)
        XCTAssertEqual(model.kind, .lineRecognizer)
        XCTAssertNotNil(model.adaptableModule)
        let (app, _) = ServeFixtures.application(model)
        try await app.test(.router) { client in
            for (image, w) in zip(images, want) {
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                         body: ServeFixtures.chat(image: image)) { response in
                    let object = try ServeFixtures.object(response)
                    XCTAssertEqual(ServeFixtures.content(object), w.text)
                    XCTAssertEqual((object["usage"] as? [String: Any])?["completion_tokens"] as? Int, w.tokenIDs.count)
                }
            }
        }
    }
}
