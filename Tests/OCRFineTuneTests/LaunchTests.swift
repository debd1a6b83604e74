// `ocrtune launch` end to end on the tiny TrOCR fixture (decoder dropout set to 0, so that the
// runs are deterministic): `launch -n 2 -- train` equals `train` in one process — the losses per
// step in metrics.jsonl and the trained model's weights — with gradient accumulation and a last
// batch of one sample; its output carries rank prefixes and rank 1 writes nothing; a rank killed
// mid-run makes launch stop the other and exit with an error naming it.

import Foundation
import MLXEngine
import OCRTestSupport
import XCTest

final class LaunchTests: XCTestCase {
    /// The TrOCR fixture with dropout 0, a 10-line dataset (7 training lines: batches of 3, 3, 1).
    func inputs() throws -> (model: URL, data: URL, root: URL) {
        let root = FineTuneFixtures.temporaryFolder("launch")
        let model = root.appendingPathComponent("trocr")
        try FileManager.default.copyItem(at: ModelFixtures.url("trocr-vit"), to: model)
        let configURL = model.appendingPathComponent("config.json")
        let config = try String(contentsOf: configURL, encoding: .utf8)
        XCTAssertTrue(config.contains("\"dropout\": 0.1"))
        try config.replacingOccurrences(of: "\"dropout\": 0.1", with: "\"dropout\": 0.0").write(to: configURL, atomically: true, encoding: .utf8)
        let texts = ["hello", "world", "the cat", "a dog", "red", "blue", "sun", "moon", "one", "two"]
        let data = try FineTuneFixtures.dataset(texts: texts, width: 64, height: 32, split: (7, 2, 1))
        return (model, data, root)
    }

    func run(_ arguments: [String], timeout: TimeInterval = 300, whileRunning: ((Process, String) -> Void)? = nil) throws
        -> (status: Int32, output: String, seconds: TimeInterval)
    {
        let p = Process()
        p.executableURL = try Binaries.ocrtune()
        p.arguments = arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtune-launch-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        let start = Date()
        try p.run()
        while p.isRunning && Date().timeIntervalSince(start) < timeout {
            whileRunning?(p, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
            Thread.sleep(forTimeInterval: 0.05)
        }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            XCTFail("ocrtune \(arguments.prefix(3).joined(separator: " ")) still running after \(Int(timeout)) s")
        }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "", Date().timeIntervalSince(start))
    }

    func losses(_ run: URL) throws -> [Double] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").compactMap {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["loss"] as? Double
        }
    }

    func testTwoRanksEqualOneProcess() throws {
        let (model, data, root) = try inputs()
        defer { try? FileManager.default.removeItem(at: root) }
        let config = root.appendingPathComponent("log-every-step.toml")
        try "log_every = 1\n".write(to: config, atomically: true, encoding: .utf8)
        for method in ["lora", "full"] {
            var train = [
                "train", "--model", model.path, "--data", data.path, "--method", method, "--max-steps", "3", "--batch-size", "3",
                "--grad-accum", "2", "--learning-rate", "1e-3", "--eval-every", "0", "--save-every", "0", "--seed", "2",
                "--config", config.path,
            ]
            // Attention key biases get a gradient that is zero in exact arithmetic (softmax ignores a
            // constant per query); AdamW scales its rounding noise up to the learning rate, so they
            // differ between any two summation orders (in one process too): full trains the rest.
            if method == "full" { train += ["--freeze", "*k_proj.bias,*attention.key.bias"] }
            let one = root.appendingPathComponent("one-\(method)"), two = root.appendingPathComponent("two-\(method)")
            let single = try run(train + ["--out", one.path])
            XCTAssertEqual(single.status, 0, single.output)
            let launched = try run(["launch", "-n", "2", "--"] + train + ["--out", two.path])
            XCTAssertEqual(launched.status, 0, launched.output)
            XCTAssertTrue(launched.output.contains("[rank 0] wrote"), launched.output)
            XCTAssertTrue(launched.output.contains("[rank 0] data-parallel: 2 ranks"), launched.output)
            XCTAssertFalse(launched.output.contains("[rank 1] wrote"), launched.output)

            let (a, b) = (try losses(one), try losses(two))
            XCTAssertEqual(a.count, 3)
            XCTAssertEqual(a.count, b.count)
            var worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            let weightsA = try loadSafeTensors(path: one.appendingPathComponent("model/model.safetensors").path).arrays
            let weightsB = try loadSafeTensors(path: two.appendingPathComponent("model/model.safetensors").path).arrays
            XCTAssertEqual(Set(weightsA.keys), Set(weightsB.keys))
            let base = try loadSafeTensors(path: model.appendingPathComponent("model.safetensors").path).arrays
            var moved: Float = 0
            for (key, value) in weightsA {
                let other = try XCTUnwrap(weightsB[key]).asType(.float32)
                worst = max(worst, Double((value.asType(.float32) - other).abs().max().item(Float.self)))
                if let original = base[key], original.shape == value.shape {
                    moved = max(moved, (value.asType(.float32) - original.asType(.float32)).abs().max().item(Float.self))
                }
            }
            XCTAssertGreaterThan(moved, 1e-4, "the runs trained")
            XCTAssertLessThanOrEqual(worst, 1e-5, method)
            print("launch -n 2 \(method): largest difference to one process \(worst)")
        }
    }

    func testAKilledRankStopsTheLaunch() throws {
        let (model, data, root) = try inputs()
        defer { try? FileManager.default.removeItem(at: root) }
        var killed: Int32?
        let result = try run([
            "launch", "-n", "2", "--", "train", "--model", model.path, "--data", data.path, "--max-steps", "100000",
            "--batch-size", "2", "--eval-every", "0", "--save-every", "0", "--out", root.appendingPathComponent("run").path,
        ], timeout: 120) { launcher, output in
            // Once training runs, kill rank 1 (the launcher's second child).
            guard killed == nil, output.contains("[rank 0] data-parallel") else { return }
            let children = (try? String(contentsOfFile: "/proc/\(launcher.processIdentifier)/task/\(launcher.processIdentifier)/children", encoding: .utf8))?
                .split(separator: " ").compactMap { Int32($0) } ?? []
            guard children.count == 2 else { return }
            Thread.sleep(forTimeInterval: 1)
            kill(children[1], SIGKILL)
            killed = children[1]
        }
        XCTAssertNotNil(killed)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("rank 1 was killed by signal 9; stopped the other ranks"), result.output)
        XCTAssertLessThan(result.seconds, 120)
    }

    /// --hosts: each rank started through ssh (here a stand-in that runs the command through a
    /// shell as sshd would) with the ring's hostfile written on the "remote" side.
    func testHostsFileStartsRanksOverSSH() throws {
        let (model, data, root) = try inputs()
        defer { try? FileManager.default.removeItem(at: root) }
        let ssh = root.appendingPathComponent("ssh")
        try "#!/bin/sh\nwhile [ \"$1\" = -o ]; do shift 2; done\nshift\nexec sh -c \"$*\"\n".write(to: ssh, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ssh.path)
        let hosts = root.appendingPathComponent("hosts.json")
        try #"[{"ssh": "m1", "ips": ["127.0.0.1"]}, {"ssh": "m2", "ips": ["127.0.0.1"]}]"#.write(to: hosts, atomically: true, encoding: .utf8)
        setenv("OCRTUNE_SSH", ssh.path, 1)
        defer { unsetenv("OCRTUNE_SSH") }
        let port = 20000 + Int(getpid() % 20000)
        let out = root.appendingPathComponent("run")
        let result = try run([
            "launch", "--hosts", hosts.path, "--starting-port", "\(port)", "--remote-binary", try Binaries.ocrtune().path, "--",
            "train", "--model", model.path, "--data", data.path, "--max-steps", "2", "--batch-size", "2", "--eval-every", "0",
            "--save-every", "0", "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("[rank 0] data-parallel: 2 ranks"), result.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("model").path))
    }
}
