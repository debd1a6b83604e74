// `ocrtune serve`: a model folder (and LoRA adapters of its runs) behind OpenAI's chat completions
// and PaddleX's /ocr (OCRServe does the serving; this file reads options and runs it).

import ArgumentParser
import Foundation
import Logging
import MLXEngine
import OCRServe

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over HTTP: OpenAI chat completions and PaddleX /ocr.",
        discussion: """
            Endpoints:
              POST /v1/chat/completions  OpenAI chat completions (stream: true for
                                         server-sent events). Vision-language
                                         models answer the messages; line
                                         recognizers (PP-OCR, TrOCR, latex-ocr-
                                         junia) answer with the text of each
                                         image, one line per image. Greedy
                                         unless temperature > 0.
              POST /ocr                  PaddleX's OCR request {"file": base64,
                                         "fileType": 1}; the image is one line.
              GET  /v1/models            the base model and each adapter
              GET  /health               200 {"status":"ok"}
              GET  /metrics              Prometheus metrics

            Images come inline (data:image/png;base64,... in chat, base64 in
            /ocr); http(s) image URLs only from --allow-media-domain hosts.
            One model worker batches requests (--max-batch, --max-wait-ms);
            past --max-queue waiting requests the answer is 503 with
            Retry-After. SIGTERM or Ctrl-C stops accepting connections, lets
            in-flight requests finish for up to --shutdown-grace seconds and
            exits 0.

            --adapter NAME=RUN/adapter serves a LoRA adapter written by
            `ocrtune train` on the one loaded base; a request picks it with
            "model": "NAME" (the base answers to --served-model-name, by
            default the model folder's name).

            Examples:
              ocrtune serve --model models/ppocrv5 --port 8080 \\
                --adapter invoices=runs/invoices/adapter

              IMG=$(base64 -w0 line.png)
              curl -s localhost:8080/ocr -H 'Content-Type: application/json' \\
                -d '{"file": "'$IMG'", "fileType": 1}'
              curl -s localhost:8080/v1/chat/completions \\
                -H 'Content-Type: application/json' -d '{"model": "invoices",
                "messages": [{"role": "user", "content": [{"type": "image_url",
                  "image_url": {"url": "data:image/png;base64,'$IMG'"}}]}]}'

              # Python, the official openai SDK (streamed):
              import base64, openai
              client = openai.OpenAI(base_url="http://localhost:8080/v1",
                                     api_key="unused")
              png = base64.b64encode(open("line.png", "rb").read()).decode()
              stream = client.chat.completions.create(
                  model="ppocrv5", stream=True, messages=[{"role": "user",
                  "content": [{"type": "image_url", "image_url": {
                      "url": "data:image/png;base64," + png}}]}])
              print("".join(c.choices[0].delta.content or ""
                            for c in stream if c.choices))
            """)

    @Option(help: "Model folder (any family ocrtune reads).")
    var model: String

    @Option(name: .customLong("adapter"), help: "NAME=RUN/adapter: a LoRA adapter served as model NAME (repeatable).")
    var adapters: [String] = []

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port; the bound one is printed).")
    var port = 8080

    @Option(help: "The name the base model answers to (default: the model folder's name).")
    var servedModelName: String?

    @Option(help: "Images (line recognizers) or prompts (generative models) per batch.")
    var maxBatch = 8

    @Option(help: "Milliseconds the first request of a batch waits for others when the worker is idle.")
    var maxWaitMs = 5.0

    @Option(help: "Requests batch together when their keys (a line's input width; visual tokens) differ by at most this factor (1: only equal keys, no padding).")
    var batchKeyRatio = 1.25

    @Option(help: "Generation batches decoded at once (generative models), one step each in turn.")
    var maxActiveBatches = 2

    @Option(help: "Requests waiting for the model before new ones get 503.")
    var maxQueue = 256

    @Option(help: "Largest request body, in MiB (413 past it).")
    var maxBodyMb = 32

    @Option(help: "Most pixels of one image (read from its header; larger images are refused before decoding).")
    var maxImagePixels = 40_000_000

    @Option(help: "Most images in one request.")
    var maxImages = 8

    @Option(help: "Highest max_tokens accepted (also the default).")
    var maxTokens = 1024

    @Option(help: "Seconds a request may take, queue and generation included.")
    var requestTimeout = 120.0

    @Option(help: "Seconds in-flight requests may take to finish after SIGTERM.")
    var shutdownGrace = 30.0

    @Option(name: .customLong("allow-media-domain"), help: "A host http(s) image URLs may name (.example.org: its subdomains too; repeatable).")
    var allowedMediaDomains: [String] = []

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if !(0 ... 65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if maxBatch < 1 || maxActiveBatches < 1 || maxQueue < 1 || maxImages < 1 || maxTokens < 1 || maxBodyMb < 1 {
            throw ValidationError("--max-batch, --max-active-batches, --max-queue, --max-images, --max-tokens and --max-body-mb must be at least 1")
        }
        if batchKeyRatio < 1 { throw ValidationError("--batch-key-ratio must be at least 1") }
        if maxWaitMs < 0 || requestTimeout <= 0 || shutdownGrace < 0 {
            throw ValidationError("--max-wait-ms and --shutdown-grace must be ≥ 0, --request-timeout > 0")
        }
        for a in adapters where Self.adapter(a) == nil { throw ValidationError("--adapter \(a): expected NAME=PATH") }
    }

    /// log2 of the cycles OpenBLAS's idle workers spin before they sleep, in the server: OpenBLAS's
    /// least. Tiny Qwen-VL through the server on 2 cores (bench/serve.py): 99 lines/s with OpenBLAS's
    /// default (28), 105–117 with 16, 126 with 4.
    static let blasIdleSpin = 4

    static func adapter(_ text: String) -> (name: String, folder: String)? {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else { return nil }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    func run() throws {
        let logger = try engine.apply(label: "serve")
        // The server shares the cores with its request handling (and often its clients): OpenBLAS's
        // workers must not spin between products (Threads.setBLASIdleSpin). A user's own setting wins.
        if ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil {
            if (try? Threads.setBLASIdleSpin(log2Cycles: Self.blasIdleSpin)) == true {
                logger.debug("OpenBLAS's idle workers spin 2^\(Self.blasIdleSpin) cycles")
            }
        }
        let folder = URL(fileURLWithPath: model)
        var configuration = ServeConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.modelName = servedModelName ?? folder.standardizedFileURL.lastPathComponent
        configuration.batching.maxBatch = maxBatch
        configuration.batching.maxWaitMilliseconds = maxWaitMs
        configuration.batching.maxQueue = maxQueue
        configuration.batching.maxActiveGenerations = maxActiveBatches
        configuration.batching.keyRatio = batchKeyRatio
        configuration.limits.maxBodyBytes = maxBodyMb << 20
        configuration.limits.maxImagePixels = maxImagePixels
        configuration.limits.maxImagesPerRequest = maxImages
        configuration.limits.maxTokens = maxTokens
        configuration.limits.requestTimeout = requestTimeout
        configuration.shutdownGrace = shutdownGrace
        configuration.allowedMediaDomains = allowedMediaDomains

        let served: ServedModel
        let loaded: ServedAdapters
        do {
            served = try ServedModels.load(folder: folder)
            let pairs = adapters.compactMap(Self.adapter)
            if pairs.isEmpty {
                loaded = ServedAdapters()
            } else {
                guard let module = served.adaptableModule else {
                    throw CLIError("serve: \(served.familyName) takes no adapters")
                }
                loaded = try ServedAdapters(module: module, adapters: pairs, baseName: configuration.modelName)
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("serve: cannot load \(model): \(error)")
        }
        let state = ServeState(model: served, adapters: loaded, configuration: configuration)
        let host = self.host
        let names = ([configuration.modelName] + loaded.names).joined(separator: ", ")
        let application = buildApplication(state, logger: logger) { port in
            Terminal.line("ocrtune serve: \(served.familyName) as \(names), listening on http://\(host):\(port)")
        }
        // The server runs on Swift concurrency's threads; this thread waits for it to stop.
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do {
                try await runUntilTerminated(application, grace: configuration.shutdownGrace, logger: logger)
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw CLIError("serve: \(error)") }
        Terminal.line("ocrtune serve: stopped")
        // Every request is answered and the worker has stopped: leave without running the static
        // destructors of the C++ libraries (MLX, OpenBLAS), which at exit raced the threads still
        // parked in them (NIO's loops, OpenBLAS's spinning worker) and once corrupted the heap
        // (glibc: "malloc_consolidate(): unaligned fastbin chunk", seen in ServeLiveTests).
        fflush(stderr)
        _exit(0)
    }
}

/// The server task's error, read after it has finished.
private final class FailureBox: @unchecked Sendable {
    var error: Error?
}
