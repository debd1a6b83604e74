// Data-parallel training on MLX's ring backend over 127.0.0.1: two ranks (this test bundle started
// twice as DataParallelWorker, with MLX_RANK and MLX_HOSTFILE) train the tiny regressor and must
// equal a one-process run with the same global batches — losses per step and final weights —
// for LoRA and full fine-tuning with gradient accumulation, across a short last batch whose only
// sample goes to rank 1 (rank 0's part is empty). A rank that dies ends the other with an error.

import Foundation
import MLXEngine
import MLXNN
import OCRSupport
import OCRTraining
import XCTest

// MARK: - The run both sides make

enum DataParallelRun {
    /// 21 samples in batches of 5: every epoch ends with a batch of 1.
    static let samples = 21

    static func configuration(method: FineTuningMethod) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.method = method
        c.lora = LoRAConfiguration(r: 4, alpha: 8, dropout: 0, targetModules: [])
        c.learningRate = 5e-3
        c.batchSize = 5
        c.gradientAccumulation = 2
        c.maxSteps = 6
        c.warmupSteps = 1
        c.saveEvery = 0
        c.evalEvery = 0
        c.logEvery = 1
        c.seed = 11
        return c
    }

    static func source() -> MemoryBatchSource<Int, Batch> {
        var rng = SplitMix64(seed: 5)
        let xs = (0 ..< samples).map { _ in (0 ..< 64).map { _ in Float(rng.nextUnit() * 2 - 1) } }
        let ys = xs.map { x in Foundation.sin(x[0] * 2) + 0.5 * x[1] * x[2] }
        return MemoryBatchSource(items: Array(0 ..< samples), seed: 4) { ids in
            Batch(x: MLXArray(ids.flatMap { xs[$0] }, [ids.count, 64]), y: MLXArray(ids.map { ys[$0] }, [ids.count, 1]))
        }
    }

    /// Trains (on `group` when given) and returns the losses per step and every parameter.
    static func train(
        method: FineTuningMethod, run: String, group: DistributedGroup?, dieAt: Int? = nil
    ) throws -> (losses: [Float], parameters: [String: MLXArray], trainer: Trainer<TinyFamily, MemoryBatchSource<Int, Batch>>) {
        let trainer = try Trainer(model: TinyFamily(), data: source(), configuration: configuration(method: method), runDirectory: run)
        trainer.group = group
        var losses: [Float] = []
        _ = try trainer.run { p in
            if p.event == .step {
                losses.append(p.loss)
                if p.step == dieAt { exit(3) }
            }
            return .proceed
        }
        return (losses, trainer.model.module.parameterDictionary(), trainer)
    }
}

// MARK: - The rank processes

/// Runs only inside a rank process started by ``DataParallelTests`` (OCRTUNE_DP_OUT is set).
final class DataParallelWorker: XCTestCase {
    func testRankWorker() throws {
        let env = ProcessInfo.processInfo.environment
        guard let out = env["OCRTUNE_DP_OUT"], let method = env["OCRTUNE_DP_METHOD"].flatMap(FineTuningMethod.init(rawValue:)) else {
            throw XCTSkip("a rank of DataParallelTests: started by those tests only")
        }
        let group = try XCTUnwrap(try DistributedGroup.fromEnvironment())
        XCTAssertEqual(group.size, 2)
        // The other collectives: all_gather in rank order, and send / recv of a vector.
        let gathered = group.allGather(MLXArray([Float(group.rank + 1), Float(10 * (group.rank + 1))], [1, 2]))
        let received: MLXArray
        if group.rank == 0 {
            try group.evaluate([group.send(MLXArray([Float(3), 1, 4]), to: 1)], operation: "send")
            received = group.receive(shape: [2], dtype: .int32, from: 1)
        } else {
            received = group.receive(shape: [3], dtype: .float32, from: 0)
            try group.evaluate([group.send(MLXArray([Int32(2), 7]), to: 0)], operation: "send")
        }
        try group.evaluate([gathered, received], operation: "all_gather, recv")
        let collectives = gathered.asArray(Float.self) + received.asType(.float32).asArray(Float.self)
        try JSONEncoder().encode(collectives).write(to: URL(fileURLWithPath: out + "/collectives-\(group.rank).json"))

        let dieAt = group.rank == 1 ? env["OCRTUNE_DP_DIE_AT"].flatMap(Int.init) : nil
        let result = try DataParallelRun.train(method: method, run: out + "/run", group: group, dieAt: dieAt)
        try saveSafeTensors(result.parameters, to: out + "/rank-\(group.rank).safetensors")
        try JSONEncoder().encode(result.losses).write(to: URL(fileURLWithPath: out + "/rank-\(group.rank).json"))
    }
}

// MARK: - Tests

final class DataParallelTests: XCTestCase {
    struct Rank {
        let process: Process
        let log: String
    }

    /// Starts this test bundle twice as the ranks of a ring on two free loopback ports.
    func startRanks(out: String, method: FineTuningMethod, extra: [String: String] = [:]) throws -> [Rank] {
        let bundle = CommandLine.arguments[0]
        guard bundle.contains("xctest"), FileManager.default.isExecutableFile(atPath: bundle) else {
            throw XCTSkip("the test bundle is not an executable to start ranks from (\(bundle))")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let ports = try (0 ..< 2).map { _ in try freePort() }
        let hostfile = out + "/hosts.json"
        try JSONSerialization.data(withJSONObject: ports.map { ["127.0.0.1:\($0)"] }).write(to: URL(fileURLWithPath: hostfile))
        return try (0 ..< 2).map { rank in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bundle)
            p.arguments = ["OCRTrainingTests.DataParallelWorker/testRankWorker"]
            var env = ProcessInfo.processInfo.environment
            env["MLX_RANK"] = "\(rank)"
            env["MLX_HOSTFILE"] = hostfile
            env["OCRTUNE_DISTRIBUTED_BACKEND"] = "ring"
            env["OCRTUNE_DP_OUT"] = out
            env["OCRTUNE_DP_METHOD"] = method.rawValue
            for (k, v) in extra { env[k] = v }
            p.environment = env
            let log = out + "/rank-\(rank).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            return Rank(process: p, log: log)
        }
    }

    /// Waits for the ranks; kills them and fails after `timeout` seconds.
    @discardableResult
    func wait(_ ranks: [Rank], timeout: TimeInterval) -> TimeInterval {
        let start = Date()
        while ranks.contains(where: { $0.process.isRunning }) && Date().timeIntervalSince(start) < timeout {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for r in ranks where r.process.isRunning {
            kill(r.process.processIdentifier, SIGKILL)
            r.process.waitUntilExit()
            XCTFail("a rank was still running after \(Int(timeout)) s:\n\(text(r.log))")
        }
        return Date().timeIntervalSince(start)
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Two ranks against one process; returns the largest difference (losses and weights).
    func compareWithOneProcess(method: FineTuningMethod) throws -> Float {
        let out = NSTemporaryDirectory() + "ocrtune-dp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let ranks = try startRanks(out: out, method: method)
        wait(ranks, timeout: 180)
        for r in ranks { XCTAssertEqual(r.process.terminationStatus, 0, text(r.log)) }

        let collectives = try (0 ..< 2).map {
            try JSONDecoder().decode([Float].self, from: Data(contentsOf: URL(fileURLWithPath: out + "/collectives-\($0).json")))
        }
        XCTAssertEqual(collectives[0], [1, 10, 2, 20, 2, 7])
        XCTAssertEqual(collectives[1], [1, 10, 2, 20, 3, 1, 4])

        let reference = try DataParallelRun.train(method: method, run: out + "/reference", group: nil)
        XCTAssertEqual(reference.losses.count, 6)
        var worst: Float = 0
        for rank in 0 ..< 2 {
            let losses = try JSONDecoder().decode([Float].self, from: Data(contentsOf: URL(fileURLWithPath: out + "/rank-\(rank).json")))
            XCTAssertEqual(losses.count, reference.losses.count)
            for (a, b) in zip(losses, reference.losses) { worst = max(worst, abs(a - b)) }
            let weights = try loadSafeTensors(path: out + "/rank-\(rank).safetensors").arrays
            XCTAssertEqual(Set(weights.keys), Set(reference.parameters.keys))
            for (key, value) in reference.parameters {
                let d = try XCTUnwrap(weights[key]).asType(.float32) - value.asType(.float32)
                worst = max(worst, d.abs().max().item(Float.self))
            }
        }
        // The weights moved (the comparison is not of two untrained models).
        let trainable = reference.trainer.model.module.trainableParameters().map(\.key)
        let fresh = TinyFamily()
        try FineTuning.apply(DataParallelRun.configuration(method: method), to: fresh)
        let initial = fresh.module.parameterDictionary()
        XCTAssertFalse(trainable.isEmpty)
        let moved = try trainable.map { k in (reference.parameters[k]! - (try XCTUnwrap(initial[k]))).abs().max().item(Float.self) }
        XCTAssertGreaterThan(moved.max() ?? 0, 1e-3)
        // Rank 0 alone wrote the run folder: metrics for every step, the output.
        let metrics = text(out + "/run/metrics.jsonl").split(separator: "\n")
        XCTAssertEqual(metrics.count, 6)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/run/" + (method == .full ? "model" : "adapter")))
        print("data-parallel \(method.rawValue): largest difference to one process \(worst)")
        return worst
    }

    func testTwoRanksEqualOneProcessLoRA() throws {
        XCTAssertLessThanOrEqual(try compareWithOneProcess(method: .lora), 1e-5)
    }

    func testTwoRanksEqualOneProcessFull() throws {
        XCTAssertLessThanOrEqual(try compareWithOneProcess(method: .full), 1e-5)
    }

    func testADeadRankEndsTheOtherWithAnError() throws {
        let out = NSTemporaryDirectory() + "ocrtune-dp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let ranks = try startRanks(out: out, method: .lora, extra: ["OCRTUNE_DP_DIE_AT": "2"])
        let seconds = wait(ranks, timeout: 60)
        XCTAssertEqual(ranks[1].process.terminationStatus, 3, text(ranks[1].log))
        XCTAssertNotEqual(ranks[0].process.terminationStatus, 0, text(ranks[0].log))
        XCTAssertTrue(text(ranks[0].log).contains("another rank probably stopped"), text(ranks[0].log))
        XCTAssertLessThan(seconds, 60)
    }

    func testOneProcessGroupIsTheIdentity() throws {
        let group = try DistributedGroup.initialize(backend: .any, strict: false)
        XCTAssertEqual(group.rank, 0)
        XCTAssertEqual(group.size, 1)
        let a = MLXArray([Float(1), 2, 3, 4, 5, 6], [2, 3])
        let b = MLXArray([Int32(7), 8], [2])
        let summed = try group.allSum(packed: [a, b], bucketElements: 4)
        XCTAssertEqual(summed[0].shape, [2, 3])
        XCTAssertEqual(summed[0].asArray(Float.self), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(summed[1].dtype, .int32)
        XCTAssertEqual(summed[1].asArray(Int32.self), [7, 8])
        XCTAssertEqual(group.allGather(a).asArray(Float.self), [1, 2, 3, 4, 5, 6])
        XCTAssertNil(try DistributedGroup.fromEnvironment([:]))
        XCTAssertEqual(BatchShard(rank: 0, count: 2).bounds(of: 1), 0 ..< 0)
        XCTAssertEqual(BatchShard(rank: 1, count: 2).bounds(of: 5), 2 ..< 5)
    }
}

/// A TCP port free on 127.0.0.1 now.
private func freePort() throws -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(s) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
    }
    guard ok else { throw XCTSkip("cannot bind a socket on 127.0.0.1") }
    return Int(UInt16(bigEndian: address.sin_port))
}
