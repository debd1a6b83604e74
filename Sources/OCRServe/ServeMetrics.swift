// Prometheus metrics of the server on its own registry (no global metrics system: the library
// bootstraps nothing), emitted by GET /metrics in the text exposition format. Rates (images/s,
// tokens/s, requests/s) are `rate()` of the counters, as Prometheus computes them.

import Foundation
import Prometheus

public final class ServeMetrics: @unchecked Sendable {  // the collectors are thread-safe
    public let registry = PrometheusCollectorRegistry()

    /// Request latency buckets, from a cached line read (ms) to a long generation (minutes).
    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        .seconds(120), .seconds(300),
    ]
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64]

    private let queueDepth: Gauge
    private let activeGenerations: Gauge
    private let images: Counter
    private let promptTokens: Counter
    private let completionTokens: Counter
    private let timeToFirstToken: DurationHistogram
    private let lineBatches: ValueHistogram
    private let generationBatches: ValueHistogram

    public init() {
        queueDepth = registry.makeGauge(descriptor: Self.name("queue_depth", "", "Requests waiting for the model worker."))
        activeGenerations = registry.makeGauge(
            descriptor: Self.name("active_generations", "", "Generation requests being decoded."))
        images = registry.makeCounter(descriptor: Self.name("images", "total", "Images read by the model (rate(): images/s)."))
        promptTokens = registry.makeCounter(descriptor: Self.name("prompt_tokens", "total", "Prompt tokens prefilled."))
        completionTokens = registry.makeCounter(
            descriptor: Self.name("completion_tokens", "total", "Tokens generated (rate(): tokens/s)."))
        timeToFirstToken = registry.makeDurationHistogram(
            descriptor: Self.name("time_to_first_token", "seconds", "Time from arrival to the first generated token."),
            buckets: Self.latencyBuckets)
        lineBatches = registry.makeValueHistogram(
            descriptor: Self.name("line_batch_size", "", "Images per line-recognition batch."), buckets: Self.batchBuckets)
        generationBatches = registry.makeValueHistogram(
            descriptor: Self.name("generation_batch_size", "", "Prompts per generation batch."), buckets: Self.batchBuckets)
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ocrtune", metricName: metric, unitName: unit, helpText: help)
    }

    // MARK: Recording

    /// One answered request: its count by endpoint and status, and its latency.
    public func request(endpoint: String, status: Int, seconds: Double) {
        registry.makeCounter(
            descriptor: Self.name("requests", "total", "HTTP requests by endpoint and status."),
            labels: [("endpoint", endpoint), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.name("request_duration", "seconds", "Request latency by endpoint."),
            labels: [("endpoint", endpoint)], buckets: Self.latencyBuckets
        ).record(.nanoseconds(Int64(seconds * 1e9)))
    }

    func queue(depth: Int, active: Int) {
        queueDepth.set(Double(depth))
        activeGenerations.set(Double(active))
    }

    func lineBatch(images count: Int) {
        lineBatches.record(Double(count))
        images.increment(by: Int64(count))
    }

    func generationBatch(prompts: Int, promptTokens tokens: Int, images count: Int) {
        generationBatches.record(Double(prompts))
        promptTokens.increment(by: Int64(tokens))
        images.increment(by: Int64(count))
    }

    func generated(tokens: Int) { completionTokens.increment(by: Int64(tokens)) }

    func firstToken(after seconds: Double) { timeToFirstToken.record(.nanoseconds(Int64(seconds * 1e9))) }

    /// The text exposition of every metric.
    public func exposition() -> String { registry.emitToString() }
}
