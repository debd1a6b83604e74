// The model worker: one thread owns the model and every engine call. Requests wait in one
// bounded queue (past it: 503 with Retry-After); the worker forms batches as the offline
// `predict --batch-size` does — lines of one adapter whose batch keys (the width a line gets,
// visual tokens) are close, up to `maxBatch`, waiting up to `maxWaitMilliseconds` for company
// when idle — and interleaves generation: admitted prompt batches are decoded one step each in
// turn, with line batches and new prompt batches run between steps (iteration-level scheduling).
// A request whose client left or whose deadline passed stops its row at the next step.

import Foundation
import MLXEngine
import OCRImaging
import OCRModels

// MARK: - Events

/// What a generation request receives, in order: `started`, any number of `text`, then
/// `finished` or `failed`.
enum GenerationEvent: Sendable {
    case started(promptTokens: Int)
    case text(String)
    /// `text` is the whole answer (equal to the concatenated deltas, save for a tokenizer that
    /// revised already sent text).
    case finished(reason: String, text: String, completionTokens: Int)
    case failed(ServeError)
}

/// A generation request as the worker takes it.
struct GenerationRequest {
    var turns: [ServedTurn]
    var adapter: String?
    var options: GenerationOptions
    var stops: [String]
    /// Whether the client reads the answer as it grows (`.text` events); otherwise only the
    /// final text is decoded, unless stop sequences need watching.
    var streams: Bool = true
    /// Similarity of prompts for batching (visual tokens of its images).
    var key: Int
    var deadline: Date
}

// MARK: - Jobs

final class LineJob: @unchecked Sendable {  // guarded by the worker's lock
    let adapter: String?
    let deadline: Date
    let arrived = Date()
    var results: [LineReading?]
    var remaining: Int
    var continuation: CheckedContinuation<[LineReading], Error>?
    var cancelled = false

    init(count: Int, adapter: String?, deadline: Date) {
        self.adapter = adapter
        self.deadline = deadline
        results = Array(repeating: nil, count: count)
        remaining = count
    }

    /// Resumes the waiting request once (later calls do nothing).
    func resume(_ result: Result<[LineReading], Error>) {
        continuation?.resume(with: result)
        continuation = nil
    }
}

struct LineUnit {
    let job: LineJob
    let index: Int
    let image: RGBImage
    let key: Int
}

final class GenerationJob: @unchecked Sendable {  // guarded by the worker's lock, `cancelled` by its own
    let request: GenerationRequest
    let events: AsyncStream<GenerationEvent>.Continuation
    let arrived = Date()
    var done = false
    private let flag = NSLock()
    private var _cancelled = false

    /// Set from any thread (the stream's termination handler runs inside `send`, under the
    /// worker's lock, so this flag has a lock of its own).
    var cancelled: Bool {
        get { flag.withLock { _cancelled } }
        set { flag.withLock { _cancelled = newValue } }
    }

    init(_ request: GenerationRequest, events: AsyncStream<GenerationEvent>.Continuation) {
        self.request = request
        self.events = events
    }

    func send(_ event: GenerationEvent) {
        guard !done else { return }
        switch event {
        case .finished, .failed: done = true
        default: break
        }
        events.yield(event)
        if done { events.finish() }
    }
}

/// A batch of prompts being decoded.
final class ActiveGeneration {
    let stepper: TokenStepper
    let jobs: [GenerationJob]
    let adapter: String?
    var texts: [StreamedText]
    var open: [Bool]
    var firstToken: [Bool]

    init(stepper: TokenStepper, jobs: [GenerationJob]) {
        self.stepper = stepper
        self.jobs = jobs
        adapter = jobs.first?.request.adapter
        texts = jobs.map { StreamedText(stops: $0.request.stops) }
        open = jobs.map { _ in true }
        firstToken = jobs.map { _ in false }
    }
}

// MARK: - Worker

public final class ModelWorker: @unchecked Sendable {  // mutable state under `condition`
    let model: ServedModel
    let adapters: ServedAdapters
    let options: BatchingOptions
    let metrics: ServeMetrics

    private let condition = NSCondition()
    private var lineUnits: [LineUnit] = []
    private var generationJobs: [GenerationJob] = []
    private var active: [ActiveGeneration] = []
    /// Requests queued (a line request counts until its last image is taken).
    private var queued = 0
    private var accepting = true
    private var aborted = false
    private var exited = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    public init(model: ServedModel, adapters: ServedAdapters, options: BatchingOptions, metrics: ServeMetrics) {
        self.model = model
        self.adapters = adapters
        self.options = options
        self.metrics = metrics
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "ocrtune-model-worker"
        thread.stackSize = 16 << 20
        thread.start()
    }

    // MARK: Submitting

    /// The text of each image (one request).
    func read(_ images: [RGBImage], adapter: String?, deadline: Date) async throws -> [LineReading] {
        let job = LineJob(count: images.count, adapter: adapter, deadline: deadline)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[LineReading], Error>) in
                condition.lock()
                defer { condition.unlock() }
                if let refusal = refusal() {
                    continuation.resume(throwing: refusal)
                    return
                }
                job.continuation = continuation
                for (i, image) in images.enumerated() {
                    lineUnits.append(LineUnit(job: job, index: i, image: image, key: model.batchKey(width: image.width, height: image.height)))
                }
                queued += 1
                condition.signal()
            }
        } onCancel: {
            condition.lock()
            job.cancelled = true
            condition.signal()
            condition.unlock()
        }
    }

    /// Starts a generation request: its events, and a function that stops it (the client left).
    func generate(_ request: GenerationRequest) throws -> (events: AsyncStream<GenerationEvent>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        let job = GenerationJob(request, events: continuation)
        condition.lock()
        defer { condition.unlock() }
        if let refusal = refusal() { throw refusal }
        generationJobs.append(job)
        queued += 1
        condition.signal()
        // Never takes the worker's lock: it also runs when the stream finishes inside `send`.
        let cancel: @Sendable () -> Void = { [weak self] in
            job.cancelled = true
            self?.condition.signal()
        }
        continuation.onTermination = { _ in cancel() }
        return (stream, cancel)
    }

    /// Requests waiting for the worker.
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
    }

    private func refusal() -> ServeError? {
        if !accepting { return .shuttingDown }
        if queued >= options.maxQueue { return .overloaded }
        return nil
    }

    // MARK: Shutting down

    /// Refuses new requests and returns once every queued and running request is answered.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            accepting = false
            if exited { continuation.resume() } else { drainWaiters.append(continuation) }
            condition.signal()
            condition.unlock()
        }
    }

    /// Fails every queued and running request (`shutting_down`) and stops the thread.
    public func abort() {
        condition.lock()
        accepting = false
        aborted = true
        condition.signal()
        condition.unlock()
    }

    // MARK: Loop

    private func loop() {
        while true {
            condition.lock()
            dropCancelled()
            if aborted { failEverything() }
            while lineUnits.isEmpty && generationJobs.isEmpty && active.isEmpty {
                if !accepting {
                    exited = true
                    let waiters = drainWaiters
                    drainWaiters = []
                    condition.unlock()
                    waiters.forEach { $0.resume() }
                    return
                }
                condition.wait()
                dropCancelled()
                if aborted { failEverything() }
            }
            // An idle worker lets the first request wait a moment for others to batch with.
            if active.isEmpty, let first = oldestArrival(), lineUnits.count < options.maxBatch,
               generationJobs.count < options.maxBatch, accepting {
                let until = first.addingTimeInterval(options.maxWaitMilliseconds / 1000)
                if until > Date() {
                    _ = condition.wait(until: until)
                    condition.unlock()
                    continue
                }
            }
            let lines = takeLineBatch()
            let prompts = active.count < options.maxActiveGenerations && admitsGeneration() ? takeGenerationBatch() : []
            metrics.queue(depth: queued, active: active.reduce(0) { $0 + $1.jobs.count } + prompts.count)
            condition.unlock()

            if !lines.isEmpty { runLines(lines) }
            if !prompts.isEmpty { admit(prompts) }
            stepActive()
        }
    }

    private func oldestArrival() -> Date? {
        [lineUnits.first?.job.arrived, generationJobs.first?.arrived].compactMap { $0 }.min()
    }

    /// Removes queued work of cancelled or expired requests (under the lock).
    private func dropCancelled() {
        let now = Date()
        var gone = Set<ObjectIdentifier>()
        for unit in lineUnits where unit.job.cancelled || unit.job.deadline < now {
            if gone.insert(ObjectIdentifier(unit.job)).inserted {
                unit.job.resume(.failure(unit.job.cancelled ? CancellationError() : ServeError.timeout))
            }
        }
        if !gone.isEmpty {
            lineUnits.removeAll { gone.contains(ObjectIdentifier($0.job)) }
            queued -= gone.count
        }
        let expired = generationJobs.filter { $0.cancelled || $0.request.deadline < now }
        for job in expired { job.send(.failed(job.cancelled ? .cancelled : .timeout)) }
        if !expired.isEmpty {
            generationJobs.removeAll { $0.cancelled || $0.request.deadline < now }
            queued -= expired.count
        }
    }

    private func failEverything() {
        for unit in lineUnits { unit.job.resume(.failure(ServeError.shuttingDown)) }
        for job in generationJobs { job.send(.failed(.shuttingDown)) }
        for batch in active { for job in batch.jobs { job.send(.failed(.shuttingDown)) } }
        lineUnits = []
        generationJobs = []
        active = []
        queued = 0
    }

    /// The oldest line and the queued lines of its adapter whose keys are within `keyRatio` of its
    /// key, closest first, up to `maxBatch` (under the lock).
    private func takeLineBatch() -> [LineUnit] {
        guard let first = lineUnits.first else { return [] }
        let k0 = Double(max(1, first.key))
        let candidates = lineUnits.indices.filter { i in
            let u = lineUnits[i]
            let k = Double(max(1, u.key))
            return u.job.adapter == first.job.adapter && k <= k0 * options.keyRatio && k * options.keyRatio >= k0
        }
        let chosen = candidates.sorted { a, b in
            let (da, db) = (abs(lineUnits[a].key - first.key), abs(lineUnits[b].key - first.key))
            return da != db ? da < db : a < b
        }.prefix(options.maxBatch)
        let taken = Set(chosen)
        let batch = chosen.sorted().map { lineUnits[$0] }
        lineUnits = lineUnits.indices.filter { !taken.contains($0) }.map { lineUnits[$0] }
        // A request leaves the queue with its last image.
        var left = Set<ObjectIdentifier>()
        for unit in batch where !lineUnits.contains(where: { $0.job === unit.job }) { left.insert(ObjectIdentifier(unit.job)) }
        queued -= left.count
        return batch
    }

    /// Whether a generation batch may start now: always on an idle worker; beside running ones,
    /// when it would be full or its oldest prompt has waited `admitWaitMilliseconds` (under the lock).
    private func admitsGeneration() -> Bool {
        guard let first = generationJobs.first else { return false }
        if active.isEmpty { return true }
        if Date().timeIntervalSince(first.arrived) * 1000 >= options.admitWaitMilliseconds { return true }
        return generationCandidates().count >= options.maxBatch
    }

    /// The oldest prompt and the queued greedy prompts of its adapter with close keys, up to
    /// `maxBatch` (a sampled prompt runs alone, so that its seed alone decides its answer).
    private func generationCandidates() -> [GenerationJob] {
        guard let first = generationJobs.first else { return [] }
        var batch = [first]
        if !first.request.options.doSample {
            let k0 = Double(1 + first.request.key)
            let ratio = options.generationKeyRatio
            for job in generationJobs.dropFirst() where batch.count < options.maxBatch {
                let k = Double(1 + job.request.key)
                if job.request.adapter == first.request.adapter, !job.request.options.doSample, k <= k0 * ratio, k * ratio >= k0 {
                    batch.append(job)
                }
            }
        }
        return batch
    }

    /// Takes ``generationCandidates()`` off the queue (under the lock).
    private func takeGenerationBatch() -> [GenerationJob] {
        let batch = generationCandidates()
        generationJobs.removeAll { job in batch.contains { $0 === job } }
        queued -= batch.count
        return batch
    }

    // MARK: Running

    private func runLines(_ units: [LineUnit]) {
        let readings: [LineReading]?
        do {
            adapters.activate(units[0].job.adapter)
            readings = try model.readLines(units.map(\.image))
            metrics.lineBatch(images: units.count)
        } catch {
            readings = nil
        }
        condition.lock()
        defer { condition.unlock() }
        for (i, unit) in units.enumerated() {
            let job = unit.job
            guard job.continuation != nil else { continue }
            guard let readings, readings.count == units.count else {
                job.resume(.failure(ServeError.modelFailure))
                continue
            }
            job.results[unit.index] = readings[i]
            job.remaining -= 1
            if job.remaining == 0 { job.resume(.success(job.results.map { $0! })) }
        }
    }

    /// Prepares each prompt (a prompt that fails is answered alone) and starts their batch.
    private func admit(_ jobs: [GenerationJob]) {
        var prepared: [(GenerationJob, PreparedPrompt)] = []
        for job in jobs {
            do {
                adapters.activate(job.request.adapter)
                let prompt = try withEngineErrors { try model.prepare(job.request.turns) }
                prepared.append((job, prompt))
            } catch {
                lockedSend(job, .failed(.unpreparable("the prompt (its images or text)", error)))
            }
        }
        guard !prepared.isEmpty else { return }
        var options = prepared[0].0.request.options
        options.maxNewTokens = prepared.map { $0.0.request.options.maxNewTokens }.max() ?? options.maxNewTokens
        do {
            let stepper = try model.startGeneration(prepared.map(\.1), options: options)
            let batch = ActiveGeneration(stepper: stepper, jobs: prepared.map(\.0))
            metrics.generationBatch(prompts: prepared.count, promptTokens: prepared.reduce(0) { $0 + $1.1.ids.count },
                                    images: prepared.reduce(0) { $0 + $1.1.grids.count })
            condition.lock()
            for (job, prompt) in prepared { job.send(.started(promptTokens: prompt.ids.count)) }
            active.append(batch)
            condition.unlock()
        } catch {
            for (job, _) in prepared { lockedSend(job, .failed(.modelFailure)) }
        }
    }

    private func lockedSend(_ job: GenerationJob, _ event: GenerationEvent) {
        condition.lock()
        job.send(event)
        condition.unlock()
    }

    /// One decoding step of every active batch, tokens handed on as text.
    private func stepActive() {
        for batch in active {
            let before = batch.stepper.generated.map(\.count)
            do {
                adapters.activate(batch.adapter)
                try withEngineErrors { _ = batch.stepper.step() }
            } catch {
                condition.lock()
                for (row, job) in batch.jobs.enumerated() where batch.open[row] {
                    batch.open[row] = false
                    job.send(.failed(.modelFailure))
                }
                condition.unlock()
                continue
            }
            condition.lock()
            let now = Date()
            var gained = 0
            for (row, job) in batch.jobs.enumerated() where batch.open[row] {
                let ids = batch.stepper.generated[row]
                gained += max(0, ids.count - before[row])
                if job.cancelled || job.request.deadline < now {
                    batch.open[row] = false
                    batch.stepper.finish(row: row)
                    job.send(.failed(job.cancelled ? .cancelled : .timeout))
                    continue
                }
                if !batch.firstToken[row] {
                    batch.firstToken[row] = true
                    metrics.firstToken(after: now.timeIntervalSince(job.arrived))
                }
                let ended = !batch.stepper.unfinished[row]
                let atLimit = ids.count >= job.request.options.maxNewTokens || batch.stepper.isFinished
                // A whole-answer request without stop sequences is decoded once, at its end.
                guard job.request.streams || !job.request.stops.isEmpty || ended || atLimit else { continue }
                let full = model.decode(ids)
                let (delta, stopped) = batch.texts[row].advance(full, final: ended || atLimit)
                if !delta.isEmpty && job.request.streams { job.send(.text(delta)) }
                if stopped || ended || atLimit {
                    batch.open[row] = false
                    batch.stepper.finish(row: row)
                    let reason = stopped || ended ? "stop" : "length"
                    job.send(.finished(reason: reason, text: batch.texts[row].final(full), completionTokens: ids.count))
                }
            }
            condition.unlock()
            metrics.generated(tokens: gained)
        }
        condition.lock()
        active.removeAll { !$0.open.contains(true) }
        condition.unlock()
    }
}
