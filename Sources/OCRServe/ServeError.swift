// Errors a request can get: an HTTP status, a stable code and a message written here (decoder,
// engine and codec messages are never passed through verbatim), rendered as OpenAI's error object
// or PaddleX's errorCode / errorMsg.

import Foundation
import Hummingbird
import OCRModels

public struct ServeError: Error, CustomStringConvertible, Equatable {
    public var status: HTTPResponse.Status
    /// OpenAI's `type` ("invalid_request_error", "server_error").
    public var type: String
    /// A stable machine-readable reason ("body_too_large", "model_not_found").
    public var code: String
    public var message: String
    /// The request part at fault ("messages[0].content[1].image_url").
    public var param: String?
    /// Seconds to wait before retrying (503).
    public var retryAfter: Int?

    public var description: String { "\(status.code) \(code): \(message)" }

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, param: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.type = status.code >= 500 ? "server_error" : "invalid_request_error"
        self.code = code
        self.message = message
        self.param = param
        self.retryAfter = retryAfter
    }

    // MARK: Common errors

    static func badRequest(_ message: String, param: String? = nil, code: String = "invalid_request") -> ServeError {
        ServeError(.badRequest, code, message, param: param)
    }

    /// A 400 for an input the model refuses: the model's reason where it is one of ocrtune's
    /// input rejections (``InputRejection``), nothing more otherwise.
    static func unpreparable(_ what: String, _ error: Error, param: String? = nil) -> ServeError {
        var message = "\(what) cannot be prepared for this model"
        if let reason = error as? InputRejection { message += ": \(String(reason.description.prefix(300)))" }
        return .badRequest(message, param: param, code: "invalid_prompt")
    }

    static func bodyTooLarge(limit: Int) -> ServeError {
        ServeError(.contentTooLarge, "body_too_large", "the request body is larger than \(limit) bytes")
    }

    static func modelNotFound(_ name: String, known: [String]) -> ServeError {
        ServeError(.notFound, "model_not_found",
                   "the model \"\(name.prefix(100))\" does not exist (served: \(known.joined(separator: ", ")))", param: "model")
    }

    static let overloaded = ServeError(
        .serviceUnavailable, "overloaded", "the server's queue is full; retry later", retryAfter: 1)
    static let shuttingDown = ServeError(.serviceUnavailable, "shutting_down", "the server is shutting down", retryAfter: 5)
    static let cancelled = ServeError(.serviceUnavailable, "cancelled", "the request was cancelled")
    static let timeout = ServeError(.gatewayTimeout, "timeout", "the request took longer than the server's request timeout")
    static let modelFailure = ServeError(.internalServerError, "model_error", "the model failed on this request")

    // MARK: Rendering

    /// OpenAI's `{"error": {"message", "type", "param", "code"}}`.
    func openAIBody() -> Data {
        let error: [String: Any] = ["message": message, "type": type, "param": param.map { $0 as Any } ?? NSNull(), "code": code]
        let body: [String: Any] = ["error": error]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// PaddleX's `{"logId", "errorCode", "errorMsg"}` (errorCode is the HTTP status).
    func paddleXBody(logID: String) -> Data {
        let body: [String: Any] = ["logId": logID, "errorCode": Int(status.code), "errorMsg": message]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}

// MARK: - Decoding errors named by path

extension ServeError {
    /// A 400 naming where the JSON body is wrong, in words of our own: the decoder's message is
    /// not echoed (it can quote the input).
    static func invalidJSON(_ error: Error) -> ServeError {
        guard let decoding = error as? DecodingError else {
            return .badRequest("the request body is not valid JSON", code: "invalid_json")
        }
        func path(_ keys: [CodingKey]) -> String {
            var s = ""
            for key in keys {
                if let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : "." + key.stringValue }
            }
            return s
        }
        switch decoding {
        case let .keyNotFound(key, context):
            let p = path(context.codingPath + [key])
            return .badRequest("\(p) is required", param: p, code: "missing_field")
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            let p = path(context.codingPath)
            return .badRequest("\(p.isEmpty ? "the body" : p) has the wrong type", param: p.isEmpty ? nil : p, code: "invalid_type")
        case let .dataCorrupted(context):
            let p = path(context.codingPath)
            if p.isEmpty { return .badRequest("the request body is not valid JSON", code: "invalid_json") }
            return .badRequest("\(p) has an invalid value", param: p, code: "invalid_value")
        @unknown default:
            return .badRequest("the request body is not valid JSON", code: "invalid_json")
        }
    }
}
