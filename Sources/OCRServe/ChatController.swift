// OpenAI's chat completions and model list over the served model: generative families answer the
// conversation (greedy unless `temperature` > 0), line recognizers answer with the text of each
// image (one line per image). `stream: true` answers with server-sent events, one chunk per piece
// of text, ending with `data: [DONE]`; a client that goes away stops its generation.
//
// Reference: OpenAI API reference, "Chat" (create chat completion; streaming), vLLM's
// OpenAI-compatible server (LoRA adapters as models, `parent`).

import Foundation
import Hummingbird
import NIOCore
import OCRImaging
import OCRModels

struct ChatController {
    let state: ServeState

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/chat/completions") { request, _ in await self.complete(request) }
        router.get("/v1/models") { _, _ in self.models() }
    }

    // MARK: Models

    func models() -> Response {
        let c = state.configuration
        var entries = [ModelList.Entry(id: c.modelName, created: state.created, parent: nil, root: c.modelName)]
        for name in state.adapterNames {
            entries.append(ModelList.Entry(id: name, created: state.created, parent: c.modelName, root: c.modelName))
        }
        return jsonResponse(.ok, WireJSON.encode(ModelList(data: entries)))
    }

    // MARK: Completions

    /// A validated request: what the worker needs and how to answer.
    struct Plan {
        var modelName: String
        var adapter: String?
        var turns: [ServedTurn]
        var images: [RGBImage]
        var maxTokens: Int
        var options: GenerationOptions
        var stops: [String]
        var stream: Bool
        var includeUsage: Bool
    }

    func complete(_ request: Request) async -> Response {
        let started = Date()
        do {
            let plan = try await self.plan(request, arrived: started)
            let deadline = started.addingTimeInterval(state.configuration.limits.requestTimeout)
            let response: Response
            switch state.kind {
            case .lineRecognizer: response = try await readLines(plan, deadline: deadline, started: started)
            case .generative: response = try await generate(plan, deadline: deadline, started: started)
            }
            if !plan.stream { record(Int(response.status.code), started) }
            return response
        } catch {
            let e = serveError(error)
            record(Int(e.status.code), started)
            return errorResponse(e)
        }
    }

    private func record(_ status: Int, _ started: Date) {
        state.metrics.request(endpoint: "/v1/chat/completions", status: status, seconds: Date().timeIntervalSince(started))
    }

    /// Reads, decodes and checks the request against the server's limits.
    func plan(_ request: Request, arrived: Date) async throws -> Plan {
        let limits = state.configuration.limits
        let body = try await readBody(request, limit: limits.maxBodyBytes, timeout: limits.bodyTimeout)
        let r = try decodeJSON(ChatCompletionRequest.self, from: body)
        let adapter = try state.adapter(for: r.model)
        if let n = r.n, n != 1 { throw ServeError.badRequest("n must be 1", param: "n", code: "unsupported_value") }
        guard !r.messages.isEmpty else { throw ServeError.badRequest("messages must not be empty", param: "messages") }
        guard r.messages.count <= limits.maxMessages else {
            throw ServeError.badRequest("at most \(limits.maxMessages) messages", param: "messages")
        }
        let maxTokens = r.maxCompletionTokens ?? r.maxTokens ?? limits.maxTokens
        guard maxTokens >= 1, maxTokens <= limits.maxTokens else {
            throw ServeError.badRequest("max_tokens must be in 1...\(limits.maxTokens)", param: "max_tokens")
        }
        let temperature = r.temperature ?? 0
        guard temperature >= 0, temperature <= 2 else { throw ServeError.badRequest("temperature must be in 0...2", param: "temperature") }
        let topP = r.topP ?? 1
        guard topP > 0, topP <= 1 else { throw ServeError.badRequest("top_p must be in (0, 1]", param: "top_p") }
        let stops = r.stop ?? []
        guard stops.count <= limits.maxStopSequences, stops.allSatisfy({ !$0.isEmpty && $0.count <= 64 }) else {
            throw ServeError.badRequest("stop takes at most \(limits.maxStopSequences) non-empty strings of ≤ 64 characters", param: "stop")
        }
        var characters = 0
        var imageCount = 0
        for (i, m) in r.messages.enumerated() {
            guard ["system", "user", "assistant"].contains(m.role) else {
                throw ServeError.badRequest("messages[\(i)].role must be system, user or assistant", param: "messages[\(i)].role")
            }
            for (j, part) in m.parts.enumerated() {
                switch part {
                case let .text(t): characters += t.count
                case .imageURL:
                    guard m.role == "user" else {
                        throw ServeError.badRequest("images are taken in user messages only", param: "messages[\(i)].content[\(j)]")
                    }
                    imageCount += 1
                }
            }
        }
        guard characters <= limits.maxTextCharacters else {
            throw ServeError.badRequest("the messages hold more than \(limits.maxTextCharacters) characters of text", param: "messages")
        }
        guard imageCount <= limits.maxImagesPerRequest else {
            throw ServeError.badRequest("at most \(limits.maxImagesPerRequest) images per request", param: "messages")
        }
        var turns: [ServedTurn] = []
        var images: [RGBImage] = []
        for (i, m) in r.messages.enumerated() {
            var parts: [ServedTurn.Part] = []
            for (j, part) in m.parts.enumerated() {
                switch part {
                case let .text(t): parts.append(.text(t))
                case let .imageURL(url):
                    let param = "messages[\(i)].content[\(j)].image_url"
                    let decoded = try await state.image(url: url, param: param)
                    let image: RGBImage
                    do {
                        image = try state.model.preprocess(decoded)
                    } catch {
                        throw ServeError.unpreparable("the image", error, param: param)
                    }
                    images.append(image)
                    parts.append(.image(image))
                }
            }
            turns.append(ServedTurn(role: m.role, parts: parts))
        }
        var options = GenerationOptions()
        options.maxNewTokens = maxTokens
        options.doSample = temperature > 0
        options.temperature = temperature > 0 ? temperature : 1
        options.topP = topP
        options.seed = r.seed.map { UInt64(bitPattern: $0) } ?? UInt64.random(in: 0 ... .max)
        return Plan(
            modelName: r.model ?? state.configuration.modelName, adapter: adapter, turns: turns, images: images,
            maxTokens: maxTokens, options: options, stops: stops, stream: r.stream ?? false,
            includeUsage: r.streamOptions?.includeUsage ?? false)
    }

    // MARK: Line recognizers

    private func readLines(_ plan: Plan, deadline: Date, started: Date) async throws -> Response {
        guard !plan.images.isEmpty else {
            throw ServeError.badRequest("this model reads images: send at least one image_url part", param: "messages", code: "image_required")
        }
        let readings = try await state.worker.read(plan.images, adapter: plan.adapter, deadline: deadline)
        let text = StreamedText(stops: plan.stops).cut(readings.map(\.text).joined(separator: "\n")).text
        let reason = "stop"
        let tokens = readings.reduce(0) { $0 + $1.tokens }
        let usage = ChatUsage(promptTokens: 0, completionTokens: tokens)
        if plan.stream {
            return sse(plan: plan, started: started, events: .whole(text: text, reason: reason, usage: usage))
        }
        return jsonResponse(.ok, WireJSON.encode(completion(plan, text: text, reason: reason, usage: usage)))
    }

    // MARK: Generative families

    private func generate(_ plan: Plan, deadline: Date, started: Date) async throws -> Response {
        var options = plan.options
        let defaults = state.generationDefaults
        options.eosTokenIDs = defaults.eosTokenIDs
        options.padTokenID = defaults.padTokenID
        options.repetitionGuard = defaults.repetitionGuard
        options.suppressTokenIDs = defaults.suppressTokenIDs
        let key = plan.images.reduce(0) { $0 + state.model.batchKey(width: $1.width, height: $1.height) }
        let (events, cancel) = try state.worker.generate(GenerationRequest(
            turns: plan.turns, adapter: plan.adapter, options: options, stops: plan.stops, streams: plan.stream, key: key,
            deadline: deadline))
        var iterator = events.makeAsyncIterator()
        // The first event decides between an error response and an answer.
        var promptTokens = 0
        switch await iterator.next() {
        case let .started(n)?: promptTokens = n
        case let .failed(error)?: throw error
        default: throw ServeError.modelFailure
        }
        if plan.stream {
            return sse(plan: plan, started: started, events: .stream(iterator, promptTokens: promptTokens, cancel: cancel))
        }
        defer { cancel() }
        while let event = await iterator.next() {
            switch event {
            case let .finished(reason, text, tokens):
                let usage = ChatUsage(promptTokens: promptTokens, completionTokens: tokens)
                return jsonResponse(.ok, WireJSON.encode(completion(plan, text: text, reason: reason, usage: usage)))
            case let .failed(error): throw error
            case .started, .text: continue
            }
        }
        throw ServeError.modelFailure
    }

    private func completion(_ plan: Plan, text: String, reason: String, usage: ChatUsage) -> ChatCompletion {
        ChatCompletion(
            id: "chatcmpl-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
            created: Int(Date().timeIntervalSince1970), model: plan.modelName,
            choices: [.init(message: .init(content: text), finishReason: reason)], usage: usage)
    }

    // MARK: Server-sent events

    enum StreamSource: @unchecked Sendable {  // the iterator is consumed by one writer only
        case whole(text: String, reason: String, usage: ChatUsage)
        case stream(AsyncStream<GenerationEvent>.Iterator, promptTokens: Int, cancel: @Sendable () -> Void)
    }

    /// `data: {chunk}` events: the role, the text pieces, the finish reason, the usage when asked
    /// for, then `data: [DONE]`. A write that fails (the client left) cancels the generation.
    private func sse(plan: Plan, started: Date, events: StreamSource) -> Response {
        let id = "chatcmpl-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let created = Int(Date().timeIntervalSince1970)
        let metrics = state.metrics
        @Sendable func chunk(_ delta: ChatCompletionChunk.Delta?, reason: String? = nil, usage: ChatUsage? = nil) -> ByteBuffer {
            let c = ChatCompletionChunk(
                id: id, created: created, model: plan.modelName,
                choices: delta.map { [.init(delta: $0, finishReason: reason)] } ?? [], usage: usage, includeUsageField: plan.includeUsage)
            var buffer = ByteBuffer(string: "data: ")
            buffer.writeBytes(WireJSON.encode(c))
            buffer.writeString("\n\n")
            return buffer
        }
        let body = ResponseBody { writer in
            var status = 200
            defer { metrics.request(endpoint: "/v1/chat/completions", status: status, seconds: Date().timeIntervalSince(started)) }
            switch events {
            case let .whole(text, reason, usage):
                try await writer.write(chunk(.init(role: "assistant", content: "")))
                if !text.isEmpty { try await writer.write(chunk(.init(content: text))) }
                try await writer.write(chunk(.init(), reason: reason))
                if plan.includeUsage { try await writer.write(chunk(nil, usage: usage)) }
            case let .stream(iterator, promptTokens, cancel):
                defer { cancel() }
                var events = iterator
                try await writer.write(chunk(.init(role: "assistant", content: "")))
                loop: while let event = await events.next() {
                    switch event {
                    case let .text(piece):
                        try await writer.write(chunk(.init(content: piece)))
                    case let .finished(reason, _, tokens):
                        try await writer.write(chunk(.init(), reason: reason))
                        if plan.includeUsage {
                            try await writer.write(chunk(nil, usage: ChatUsage(promptTokens: promptTokens, completionTokens: tokens)))
                        }
                        break loop
                    case let .failed(error):
                        status = Int(error.status.code)
                        var buffer = ByteBuffer(string: "data: ")
                        buffer.writeBytes(error.openAIBody())
                        buffer.writeString("\n\n")
                        try await writer.write(buffer)
                        break loop
                    case .started: continue
                    }
                }
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
