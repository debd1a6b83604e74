// What `ocrtune serve` is configured with: where it listens, what a stranger may send (every
// size bounded), and how the model worker batches.

import Foundation

/// Bounds on what one request may ask for. Each is checked before the work it bounds: the body
/// length before the body is read, an image's bytes and pixel count from its header before it is
/// decoded.
public struct ServeLimits: Sendable, Equatable {
    /// Request body bytes (413 past it).
    public var maxBodyBytes = 32 << 20
    /// Bytes of one encoded image (after base64).
    public var maxImageBytes = 16 << 20
    /// Pixels of one image, read from its header (decompression bombs are refused here).
    public var maxImagePixels = 40_000_000
    /// The shorter side of an image, in pixels.
    public var minImageSide = 4
    /// Images in one request.
    public var maxImagesPerRequest = 8
    /// Chat messages in one request.
    public var maxMessages = 64
    /// Characters of text in one request.
    public var maxTextCharacters = 64 << 10
    /// The highest `max_tokens` accepted; also the default when a request gives none.
    public var maxTokens = 1024
    /// Stop sequences per request.
    public var maxStopSequences = 4
    /// Seconds a request may take from arrival to its last byte (queue, reading, generation).
    public var requestTimeout: Double = 120
    /// Seconds to receive a whole request body (slow clients are cut off).
    public var bodyTimeout: Double = 30
    /// Seconds an open connection may stay silent.
    public var idleTimeout: Double = 30
    /// Open connections at once (more wait in the listen backlog).
    public var maxConnections = 256

    public init() {}
}

/// How the model worker forms batches.
public struct BatchingOptions: Sendable, Equatable {
    /// Images (line recognizers) or prompts (generative families) per batch.
    public var maxBatch = 8
    /// How long the first request of a batch may wait for others when the worker is idle.
    public var maxWaitMilliseconds = 5.0
    /// Requests waiting for the worker; past it, 503 with Retry-After.
    public var maxQueue = 256
    /// Lines of one batch differ by at most this factor in their batch key (the input width a
    /// line gets alone): lines of equal keys are computed without padding.
    public var keyRatio = 1.25
    /// Prompts of one generation batch differ by at most this factor in their visual tokens
    /// (padding costs prefill only, so this is looser than for lines).
    public var generationKeyRatio = 2.0
    /// Generation batches decoded at once, one step each in turn. Two let a new batch start
    /// while another decodes; more cost CPU per request on a small machine (each batch keeps
    /// its own caches warm) without adding throughput.
    public var maxActiveGenerations = 2
    /// While other generations run, a new batch starts only when it is full or its oldest prompt
    /// has waited this long (larger batches: each decoding step has a fixed cost).
    public var admitWaitMilliseconds = 50.0

    public init() {}
}

/// Everything `buildApplication` needs besides the model.
public struct ServeConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0: any free port (the bound one is reported through `onListening`).
    public var port = 8080
    /// The name the base model answers to (the `model` field); adapters answer to theirs.
    public var modelName = "ocrtune"
    public var limits = ServeLimits()
    public var batching = BatchingOptions()
    /// Seconds in-flight requests may take to finish after SIGTERM.
    public var shutdownGrace: Double = 30
    /// Hosts `http(s)` image URLs may name (exact, or `.example.org` for its subdomains); empty:
    /// URLs are refused.
    public var allowedMediaDomains: [String] = []

    public init() {}
}
