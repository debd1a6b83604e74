// Bad requests get a JSON error with the right status, a stable code and the part at fault — and
// never the decoder's own words — while the server keeps answering good requests.

import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import OCRImaging
import XCTest

@testable import OCRServe

final class RequestErrorTests: XCTestCase {
    func served(_ change: (inout ServeConfiguration) -> Void = { _ in }) throws -> (some ApplicationProtocol, ServeState) {
        ServeFixtures.application(try ServedModels.load(folder: ServeFixtures.ppocrFolder),
                                  configuration: ServeFixtures.configuration(change))
    }

    /// Posts `body` and checks status, error code and param.
    func expectError(_ client: some TestClientProtocol, _ body: ByteBuffer, status: HTTPResponse.Status, code: String,
                     param: String? = nil, uri: String = "/v1/chat/completions", file: StaticString = #filePath, line: UInt = #line) async throws {
        try await client.execute(uri: uri, method: .post, headers: ServeFixtures.jsonHeaders, body: body) { response in
            XCTAssertEqual(response.status, status, file: file, line: line)
            XCTAssertEqual(response.headers[.contentType], "application/json", file: file, line: line)
            let error = try ServeFixtures.error(response)
            XCTAssertEqual(error["code"] as? String, code, file: file, line: line)
            if let param { XCTAssertEqual(error["param"] as? String, param, file: file, line: line) }
        }
    }

    func testMalformedRequests() async throws {
        let (app, _) = try served { $0.limits.maxImagesPerRequest = 2; $0.limits.maxTokens = 64 }
        let good = ServeFixtures.line(width: 120, seed: 2)
        try await app.test(.router) { client in
            // Malformed JSON: the decoder's message ("Unexpected character…") is not echoed.
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                     body: ByteBuffer(string: #"{"model": "tiny", "messages": [ <script>"#)) { response in
                XCTAssertEqual(response.status, .badRequest)
                let error = try ServeFixtures.error(response)
                XCTAssertEqual(error["code"] as? String, "invalid_json")
                XCTAssertEqual(error["type"] as? String, "invalid_request_error")
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                XCTAssertFalse(text.contains("script") || text.contains("Unexpected") || text.contains("character"), text)
            }
            try await self.expectError(client, ByteBuffer(), status: .badRequest, code: "invalid_json")
            try await self.expectError(client, ServeFixtures.json(["model": "tiny"]), status: .badRequest, code: "missing_field", param: "messages")
            try await self.expectError(client, ServeFixtures.json(["model": "tiny", "messages": "hi"]), status: .badRequest,
                                       code: "invalid_type", param: "messages")
            try await self.expectError(client, ServeFixtures.json(["model": "tiny", "messages": [["role": "user", "content": [["type": "audio"]]]]]),
                                       status: .badRequest, code: "invalid_value", param: "messages[0].content[0].type")
            try await self.expectError(client, ServeFixtures.chat(model: "nope", image: good), status: .notFound, code: "model_not_found", param: "model")
            try await self.expectError(client, ServeFixtures.chat(image: good, extra: ["n": 2]), status: .badRequest, code: "unsupported_value", param: "n")
            try await self.expectError(client, ServeFixtures.chat(image: good, extra: ["max_tokens": 65]), status: .badRequest,
                                       code: "invalid_request", param: "max_tokens")
            try await self.expectError(client, ServeFixtures.chat(image: good, extra: ["temperature": 3]), status: .badRequest,
                                       code: "invalid_request", param: "temperature")
            try await self.expectError(client, ServeFixtures.chat(image: nil, text: "hello"), status: .badRequest, code: "image_required")
            let role: [String: Any] = ["model": "tiny", "messages": [["role": "tool", "content": "x"]]]
            try await self.expectError(client, ServeFixtures.json(role), status: .badRequest, code: "invalid_request", param: "messages[0].role")
            let three: [String: Any] = ["model": "tiny", "messages": [["role": "user", "content": (0 ..< 3).map { _ in
                ["type": "image_url", "image_url": ["url": ServeFixtures.dataURL(good)]]
            }]]]
            try await self.expectError(client, ServeFixtures.json(three), status: .badRequest, code: "invalid_request", param: "messages")

            // Images: each refusal names the part.
            func imagePart(_ url: String) -> ByteBuffer {
                ServeFixtures.json(["model": "tiny", "messages": [["role": "user", "content": [
                    ["type": "text", "text": "read"], ["type": "image_url", "image_url": ["url": url]],
                ]]]])
            }
            let part = "messages[0].content[1].image_url"
            try await self.expectError(client, imagePart("data:image/png;base64,%%%not-base64%%%"), status: .badRequest,
                                       code: "invalid_base64", param: part)
            try await self.expectError(client, imagePart("data:image/png;base64," + Data("hello, world".utf8).base64EncodedString()),
                                       status: .badRequest, code: "invalid_image", param: part)
            let truncated = ServeFixtures.png(good).prefix(120)
            try await self.expectError(client, imagePart("data:image/png;base64," + truncated.base64EncodedString()),
                                       status: .badRequest, code: "invalid_image", param: part)
            let bomb = ServeFixtures.pngHeader(width: 50_000, height: 50_000)
            try await self.expectError(client, imagePart("data:image/png;base64," + bomb.base64EncodedString()),
                                       status: .contentTooLarge, code: "image_too_many_pixels", param: part)
            try await self.expectError(client, imagePart(ServeFixtures.dataURL(ServeFixtures.line(width: 40, height: 2, seed: 1))),
                                       status: .badRequest, code: "image_too_small", param: part)
            try await self.expectError(client, imagePart("https://example.org/a.png"), status: .badRequest,
                                       code: "image_url_not_allowed", param: part)
            try await self.expectError(client, imagePart("data:image/png,rawbytes"), status: .badRequest, code: "invalid_image_url", param: part)

            // Unknown endpoints and methods are JSON too.
            try await client.execute(uri: "/v2/nothing", method: .get) { response in
                XCTAssertEqual(response.status, .notFound)
                XCTAssertEqual(try ServeFixtures.error(response)["code"] as? String, "not_found")
            }
            // After all that, a good request is answered.
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                     body: ServeFixtures.chat(image: good)) { response in
                XCTAssertEqual(response.status, .ok)
            }
        }
    }

    func testBodyLimitAnswers413BeforeReadingTheBody() async throws {
        let (app, _) = try served { $0.limits.maxBodyBytes = 1000 }
        try await app.test(.router) { client in
            let big = ServeFixtures.chat(image: ServeFixtures.line(width: 300, seed: 9))
            XCTAssertGreaterThan(big.readableBytes, 1000)
            try await self.expectError(client, big, status: .contentTooLarge, code: "body_too_large")
            try await client.execute(uri: "/ocr", method: .post, headers: ServeFixtures.jsonHeaders,
                                     body: ServeFixtures.json(["file": String(repeating: "A", count: 2000)])) { response in
                XCTAssertEqual(response.status, .contentTooLarge)
                XCTAssertEqual(try ServeFixtures.object(response)["errorCode"] as? Int, 413)
            }
        }
    }

    func testFullQueueAnswers503WithRetryAfter() async throws {
        let (app, _) = try served { $0.batching.maxQueue = 0 }
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: ServeFixtures.jsonHeaders,
                                     body: ServeFixtures.chat(image: ServeFixtures.line(width: 100, seed: 1))) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssertEqual(response.headers[.retryAfter], "1")
                XCTAssertEqual(try ServeFixtures.error(response)["code"] as? String, "overloaded")
            }
        }
    }

    func testRemoteImageHostsAreChecked() throws {
        let remote = RemoteImages(allowedDomains: ["images.example.org", ".cdn.example.com"], limits: ServeLimits())
        XCTAssertTrue(remote.allows(host: "images.example.org"))
        XCTAssertTrue(remote.allows(host: "a.cdn.example.com"))
        XCTAssertTrue(remote.allows(host: "cdn.example.com"))
        XCTAssertFalse(remote.allows(host: "evil-cdn.example.com"))
        XCTAssertFalse(remote.allows(host: "images.example.org.evil.net"))
        XCTAssertNoThrow(try remote.checked("https://images.example.org/a.png", param: "p"))
        for bad in ["ftp://images.example.org/a.png", "https://user:pw@images.example.org/a.png", "https://other.org/a.png", "not a url"] {
            XCTAssertThrowsError(try remote.checked(bad, param: "p"), bad) { error in
                XCTAssertEqual((error as? ServeError)?.status, .badRequest)
            }
        }
        XCTAssertThrowsError(try RemoteImages(allowedDomains: [], limits: ServeLimits()).checked("https://images.example.org/a.png", param: "p"))
    }
}

/// Image URLs against a real local server: redirects are followed only to allowed hosts (each
/// hop checked again), at most three, and bodies past the image limit are cut off.
final class RemoteImageFetchTests: XCTestCase {
    func testRedirectsAreCheckedAgainAndBodiesBounded() async throws {
        let png = ServeFixtures.png(ServeFixtures.line(width: 64, seed: 4))
        let router = Router()
        router.get("/img.png") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: png))) }
        router.get("/to-img") { _, _ in Response(status: .found, headers: [.location: "/img.png"]) }
        router.get("/to-other-host") { _, _ in Response(status: .found, headers: [.location: "http://localhost/img.png"]) }
        router.get("/loop") { _, _ in Response(status: .temporaryRedirect, headers: [.location: "/loop"]) }
        router.get("/big") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 7, count: 5000))) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            var limits = ServeLimits()
            limits.maxImageBytes = 4000
            let remote = RemoteImages(allowedDomains: ["127.0.0.1"], limits: limits)
            let base = "http://127.0.0.1:\(port)"
            let fetched = try await remote.fetch(base + "/to-img", param: "p")
            XCTAssertEqual(fetched, png)
            for (path, code) in [("/to-other-host", "image_url_not_allowed"), ("/loop", "image_fetch_failed"),
                                 ("/big", "image_too_large"), ("/missing", "image_fetch_failed")] {
                do {
                    _ = try await remote.fetch(base + path, param: "p")
                    XCTFail("\(path) was fetched")
                } catch let error as ServeError {
                    XCTAssertEqual(error.code, code, path)
                }
            }
            await remote.shutdown()
        }
    }
}
