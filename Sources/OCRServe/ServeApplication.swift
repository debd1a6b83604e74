// The HTTP application, in Hummingbird's style: `buildRouter` (one controller per resource:
// chat completions and models, PaddleX's /ocr, health and metrics) and `buildApplication` (the
// router, the server's limits, and the model worker as a service that drains after the server
// has finished its in-flight requests).

import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OCRImaging
import OCRModels
import ServiceLifecycle

// MARK: - State

/// What every handler shares: the configuration, the model worker, names and metrics.
public final class ServeState: @unchecked Sendable {  // immutable; `model` is used off the worker for pure lookups only
    public let configuration: ServeConfiguration
    public let worker: ModelWorker
    public let metrics: ServeMetrics
    let kind: ServedModelKind
    let familyName: String
    /// For batch keys and generation defaults (no engine call).
    let model: ServedModel
    let generationDefaults: GenerationOptions
    let adapterNames: [String]
    let images: ImageInputs
    let remote: RemoteImages
    let created = Int(Date().timeIntervalSince1970)

    public init(model: ServedModel, adapters: ServedAdapters, configuration: ServeConfiguration, metrics: ServeMetrics = ServeMetrics()) {
        self.configuration = configuration
        self.metrics = metrics
        kind = model.kind
        familyName = model.familyName
        self.model = model
        generationDefaults = model.defaultGeneration
        adapterNames = adapters.names
        images = ImageInputs(limits: configuration.limits)
        remote = RemoteImages(allowedDomains: configuration.allowedMediaDomains, limits: configuration.limits)
        worker = ModelWorker(model: model, adapters: adapters, options: configuration.batching, metrics: metrics)
    }

    /// The base model's name, then each adapter's.
    var modelNames: [String] { [configuration.modelName] + adapterNames }

    /// The adapter a `model` field names (nil: the base); unknown names are a 404.
    func adapter(for name: String?) throws -> String? {
        guard let name, name != configuration.modelName else { return nil }
        guard adapterNames.contains(name) else { throw ServeError.modelNotFound(name, known: modelNames) }
        return name
    }

    /// An image given by a URL: a `data:` URL, or http(s) from an allowed host.
    func image(url: String, param: String) async throws -> RGBImage {
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            return try images.decode(try await remote.fetch(url, param: param), param: param)
        }
        return try images.fromDataURL(url, param: param)
    }
}

// MARK: - Router and application

/// Every endpoint of the server over `state`.
public func buildRouter(_ state: ServeState) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: JSONErrorMiddleware())
    ChatController(state: state).addRoutes(to: router)
    OCRController(state: state).addRoutes(to: router)
    router.get("/health") { _, _ in
        jsonResponse(.ok, Data(#"{"status":"ok"}"#.utf8))
    }
    router.get("/metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: state.metrics.exposition())))
    }
    return router
}

/// The server: `buildRouter(state)` behind HTTP/1.1 with the idle timeout and connection bound
/// of `state.configuration`, and the model worker as a service. `onListening` gets the bound port.
public func buildApplication(
    _ state: ServeState, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let c = state.configuration
    let server = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .milliseconds(Int64(c.limits.idleTimeout * 1000))))
    return Application(
        router: buildRouter(state),
        server: server,
        configuration: .init(
            address: .hostname(c.host, port: c.port), serverName: "ocrtune",
            availableConnectionsDelegate: MaximumAvailableConnections(c.limits.maxConnections)),
        services: [WorkerService(state: state)],
        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? c.port) },
        logger: logger)
}

/// Runs the application until SIGTERM or SIGINT, then stops accepting connections and lets
/// in-flight requests finish for up to `shutdownGrace` seconds before cancelling them.
public func runUntilTerminated(_ application: some ApplicationProtocol, grace: Double, logger: Logger) async throws {
    var configuration = ServiceGroupConfiguration(
        services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(grace * 1000))
    configuration.maximumCancellationDuration = .seconds(5)
    try await ServiceGroup(configuration: configuration).run()
}

/// The model worker's lifetime: on graceful shutdown (after the HTTP server, which was started
/// after it, has drained) it answers what is left and stops; cancelled, it fails what is left.
struct WorkerService: Service {
    let state: ServeState

    func run() async throws {
        do {
            try await gracefulShutdown()
            await state.worker.drain()
        } catch {
            state.worker.abort()
        }
        await state.remote.shutdown()
    }
}

// MARK: - Helpers

func jsonResponse(_ status: HTTPResponse.Status, _ body: Data, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

/// An OpenAI-shaped error response (with Retry-After when the error has one).
func errorResponse(_ error: ServeError) -> Response {
    var headers: HTTPFields = [:]
    if let retry = error.retryAfter { headers[.retryAfter] = String(retry) }
    return jsonResponse(error.status, error.openAIBody(), headers: headers)
}

/// Any error as a ServeError: ours as they are, anything else as a 500 without its message.
func serveError(_ error: Error) -> ServeError {
    if let e = error as? ServeError { return e }
    if let e = error as? HTTPError {
        switch e.status {
        case .notFound: return ServeError(.notFound, "not_found", "no such endpoint")
        case .methodNotAllowed: return ServeError(.methodNotAllowed, "method_not_allowed", "this endpoint does not take that method")
        case .contentTooLarge: return ServeError(.contentTooLarge, "body_too_large", "the request body is too large")
        default: return ServeError(e.status, "http_error", e.status.reasonPhrase)
        }
    }
    if error is CancellationError { return .cancelled }
    return ServeError(.internalServerError, "internal_error", "the server failed on this request")
}

/// Errors that escape a handler (unknown paths, methods) become OpenAI-shaped JSON.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return errorResponse(serveError(error))
        }
    }
}

/// The request body, refused with 413 as soon as it (or its Content-Length) passes `limit`, and
/// with 408 when it takes longer than `timeout` seconds to arrive.
func readBody(_ request: Request, limit: Int, timeout: Double) async throws -> ByteBuffer {
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw ServeError.bodyTooLarge(limit: limit)
    }
    let body = request.body
    return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
        group.addTask {
            var buffer = ByteBuffer()
            for try await chunk in body {
                guard buffer.readableBytes + chunk.readableBytes <= limit else { throw ServeError.bodyTooLarge(limit: limit) }
                buffer.writeImmutableBuffer(chunk)
            }
            return buffer
        }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
            throw ServeError(.requestTimeout, "body_timeout", "the request body took longer than \(Int(timeout)) s to arrive")
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw ServeError.badRequest("no request body") }
        return first
    }
}

/// Decodes a JSON body into `T`, errors naming the field at fault.
func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    guard buffer.readableBytes > 0 else { throw ServeError.badRequest("the request body is empty (JSON expected)", code: "invalid_json") }
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    } catch {
        throw ServeError.invalidJSON(error)
    }
}
