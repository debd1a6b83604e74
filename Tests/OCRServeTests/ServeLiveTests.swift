// A real `ocrtune serve` on 127.0.0.1 (a free port chosen by the server, read from its output)
// with a tiny fixture model, talked to by the official `openai` Python SDK and by plain HTTP
// (live_client.py): non-streamed and streamed answers equal `ocrtune predict`'s, a concurrent
// burst is answered correctly, errors arrive as the SDK's exceptions, and SIGTERM ends the server
// with status 0. Skipped only when python3 or its `openai` package (installed into .deps/python by
// tools/setup.sh) is missing.

import Foundation
import OCRImaging
import OCRTestSupport
import XCTest

final class ServeLiveTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `ocrtune` binary next to the test bundle (`make test` builds it first).
    func binary() throws -> URL { try Binaries.ocrtune() }

    /// python3 with the openai SDK on PYTHONPATH (.deps/python), or a skip naming what is missing.
    func python() throws -> (URL, [String: String]) {
        var environment = ProcessInfo.processInfo.environment
        let deps = Self.root.appendingPathComponent(".deps/python").path
        environment["PYTHONPATH"] = [deps, environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
        let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("python3") }
        guard let python = path.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("python3 is not installed: the live serving test needs it and its openai package (tools/setup.sh)")
        }
        let check = try run(python, ["-c", "import openai"], environment: environment)
        guard check.status == 0 else {
            throw XCTSkip("the openai Python package is not installed in .deps/python: run tools/setup.sh (make test does)")
        }
        return (python, environment)
    }

    @discardableResult
    func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errors = ReadAll(err)
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, errors.text())
    }

    /// Starts `ocrtune serve` on port 0 and returns it with the port it printed.
    func startServer(_ binary: URL, _ arguments: [String]) throws -> (Process, Int, ReadAll) {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = ReadAll(out), errors = ReadAll(err)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            if let range = output.text().range(of: "listening on http://127.0.0.1:") {
                let digits = output.text()[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits), digits.count == String(port).count, output.text().contains("\(port)\n") {
                    return (process, port, errors)
                }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if process.isRunning { process.terminate() }
        XCTFail("the server did not report its port: \(output.text()) \(errors.text())")
        throw XCTSkip("no server")
    }

    /// SIGTERM, then the exit status (the server drains and exits 0).
    func stop(_ process: Process) -> Int32? {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    /// `drain`: the client sends SIGTERM while streamed answers are being generated; they must
    /// still arrive whole.
    func check(model folder: URL, cases: [(image: String, prompt: String?, maxTokens: Int)], predict: [String], ocr: Bool,
               drain: Bool = false) throws {
        let bin = try binary()
        let (python, environment) = try python()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ocrserve-live-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        // What `ocrtune predict` reads, one image at a time.
        var expected: [String] = []
        for c in cases {
            var args = ["predict", "--model", folder.path, "--json", "--batch-size", "1"] + predict
            if let prompt = c.prompt { args += ["--prompt", prompt, "--max-new-tokens", String(c.maxTokens)] }
            let result = try run(bin, args + [c.image])
            XCTAssertEqual(result.status, 0, result.errors)
            let line = try XCTUnwrap(result.output.split(separator: "\n").last)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            expected.append(try XCTUnwrap(object["text"] as? String))
        }

        let (server, port, serverErrors) = try startServer(bin, ["--model", folder.path, "--served-model-name", "tiny", "--max-wait-ms", "20"])
        var stopped = false
        defer { if !stopped { _ = stop(server) } }
        let config: [String: Any] = [
            "port": port, "model": "tiny", "ocr": ocr, "burst": 24, "drain_pid": drain ? Int(server.processIdentifier) : 0,
            "cases": cases.map { ["image": $0.image, "prompt": $0.prompt as Any, "max_tokens": $0.maxTokens] },
        ]
        let configURL = work.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let script = Self.root.appendingPathComponent("Tests/OCRServeTests/live_client.py").path
        let client = try run(python, [script, configURL.path], environment: environment)
        XCTAssertEqual(client.status, 0, "live_client.py: \(client.errors)\nserver: \(serverErrors.text())")
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(client.output.utf8)) as? [String: Any], client.output)

        XCTAssertEqual(result["models"] as? [String], ["tiny"])
        let answers = try XCTUnwrap(result["cases"] as? [[String: Any]])
        XCTAssertEqual(answers.count, cases.count)
        for (i, (answer, want)) in zip(answers, expected).enumerated() {
            XCTAssertEqual(answer["plain"] as? String, want, "case \(i), openai SDK")
            XCTAssertEqual(answer["streamed"] as? String, want, "case \(i), openai SDK streaming")
            XCTAssertEqual(answer["http"] as? String, want, "case \(i), plain HTTP")
            XCTAssertEqual(answer["stream_usage"] as? Int, answer["completion_tokens"] as? Int, "case \(i): usage")
            if ocr { XCTAssertEqual(answer["ocr"] as? String, want, "case \(i), /ocr") }
        }
        let burst = try XCTUnwrap(result["burst"] as? [[Any]])
        XCTAssertEqual(burst.count, 24)
        for pair in burst {
            let index = try XCTUnwrap(pair[0] as? Int)
            XCTAssertEqual(pair[1] as? String, expected[index], "burst answer for case \(index)")
        }
        XCTAssertEqual(result["unknown_model"] as? Int, 404)
        XCTAssertEqual(result["malformed"] as? [AnyHashable], [400, "invalid_json"] as [AnyHashable])

        if drain {
            let drained = try XCTUnwrap(result["drained"] as? [[Any]])
            XCTAssertEqual(drained.count, 4)
            for entry in drained {
                let index = try XCTUnwrap(entry[0] as? Int)
                XCTAssertEqual(entry[1] as? String, expected[index], "an answer in flight at SIGTERM, case \(index)")
                XCTAssertEqual(entry[2] as? Bool, true, "…ends with [DONE]")
            }
        }
        stopped = true
        XCTAssertEqual(stop(server), 0, "SIGTERM ends the server with status 0: \(serverErrors.text())")
    }

    func testLineRecognizerServer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocrserve-live-images-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var cases: [(String, String?, Int)] = []
        for (i, width) in [120, 200, 280].enumerated() {
            let path = dir.appendingPathComponent("line\(i).png")
            try ServeFixtures.png(ServeFixtures.line(width: width, seed: 50 + i)).write(to: path)
            cases.append((path.path, nil, 64))
        }
        try check(model: ServeFixtures.ppocrFolder, cases: cases, predict: [], ocr: true)
    }

    func testVisionLanguageServer() throws {
        let images = ServeFixtures.qwenFolder.appendingPathComponent("images")
        let cases: [(String, String?, Int)] = [
            (images.appendingPathComponent("image0.png").path, "Read all the text in the image.", 20),
            (images.appendingPathComponent("image1.png").path, "What is written here?", 12),
        ]
        try check(model: ServeFixtures.qwenFolder, cases: cases, predict: [], ocr: false, drain: true)
    }
}

/// Collects everything a pipe delivers, from a background reader.
final class ReadAll: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            self?.lock.lock()
            self?.data.append(chunk)
            self?.lock.unlock()
        }
    }

    func text() -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
