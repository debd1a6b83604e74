// The trainer on a tiny model: learning, exact resume, crash-safe checkpoints, accumulation.

import Foundation
import MLXEngine
import MLXNN
import OCRTraining
import XCTest

final class TrainerTests: XCTestCase {
    private func configuration(steps: Int = 12, method: FineTuningMethod = .lora) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.method = method
        c.lora = LoRAConfiguration(r: 4, alpha: 8, dropout: 0.1, targetModules: [])
        c.learningRate = 5e-3
        c.batchSize = 8
        c.maxSteps = steps
        c.warmupSteps = 2
        c.saveEvery = 4
        c.keepLast = 10
        c.evalEvery = 0
        c.logEvery = 1
        c.seed = 3
        return c
    }

    private func adapterBytes(_ run: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: run + "/adapter/adapter_model.safetensors"))
    }

    func testLoRATrainingLowersTheLossAndWritesTheRunFolder() throws {
        let run = temporaryRun()
        var c = configuration(steps: 40)
        c.lora.loraDropout = 0
        let trainer = try Trainer(model: TinyFamily(), data: MemorySource(count: 64), configuration: c, runDirectory: run)
        var losses: [Float] = []
        let summary = try trainer.run { p in
            if p.event == .step { losses.append(p.loss) }
            return .proceed
        }
        XCTAssertEqual(summary.ending, .completed)
        XCTAssertEqual(summary.steps, 40)
        XCTAssertLessThan(losses.suffix(5).reduce(0, +) / 5, losses.prefix(5).reduce(0, +) / 5 * 0.6)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: run))
        XCTAssertTrue(files.isSuperset(of: ["config.toml", "metrics.jsonl", "checkpoints", "adapter"]))
        XCTAssertTrue(files.contains { $0.hasPrefix("events.out.tfevents.") })
        let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 40)
        let config = try TrainingConfiguration.fromTOML(try String(contentsOfFile: run + "/config.toml", encoding: .utf8))
        XCTAssertEqual(config, c)
    }

    func testResumeAfterStopsAtThreeStepsIsByteIdentical() throws {
        let full = temporaryRun("full")
        _ = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: full).run()
        let reference = try adapterBytes(full)

        for stopAt in [3, 8, 11] {
            let run = temporaryRun("stopped-\(stopAt)")
            let first = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: run)
            let stopped = try first.run { $0.event == .step && $0.step == stopAt ? .stop : .proceed }
            XCTAssertEqual(stopped.ending, .stoppedOnRequest)
            XCTAssertEqual(stopped.steps, stopAt)
            XCTAssertNil(stopped.output)
            // A fresh process: new model objects with the same initialization.
            let second = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: run)
            let resumed = try second.run(resume: true)
            XCTAssertEqual(resumed.steps, 12)
            XCTAssertEqual(try adapterBytes(run), reference, "stopped at \(stopAt)")
        }
    }

    /// A run killed after step 10 (its last checkpoint at step 8) and resumed logs steps 9 and 10
    /// again: metrics.jsonl keeps each step once, as the uninterrupted run writes it.
    func testAResumedRunLogsEachStepOnce() throws {
        let full = temporaryRun("full-log")
        _ = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: full).run()
        func steps(_ run: String) throws -> [Int] {
            try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
                try XCTUnwrap((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["step"] as? Int)
            }
        }
        XCTAssertEqual(try steps(full), Array(1 ... 12))

        // The killed run: the log of steps 1-10, checkpoints up to step 8, no final outputs.
        let run = temporaryRun("killed-log")
        try FileManager.default.copyItem(atPath: full, toPath: run)
        for name in ["adapter", "checkpoints/step-000012"] { try? FileManager.default.removeItem(atPath: run + "/" + name) }
        let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        try Data(lines.prefix(10).joined(separator: "\n").appending("\n").utf8).write(to: URL(fileURLWithPath: run + "/metrics.jsonl"))

        let resumed = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: run)
            .run(resume: true)
        XCTAssertEqual(resumed.steps, 12)
        XCTAssertEqual(try steps(run), Array(1 ... 12))
        XCTAssertEqual(try adapterBytes(run), try adapterBytes(full))
    }

    func testACheckpointWriteKilledMidwayLeavesThePreviousOneUsable() throws {
        let run = temporaryRun()
        let first = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: run)
        _ = try first.run { $0.event == .step && $0.step == 8 ? .stop : .proceed }
        // What kill -9 can leave behind: a temporary folder with partial files (the rename never ran).
        let dir = run + "/checkpoints"
        let partial = dir + "/.tmp-step-000012-deadbeef"
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: partial + "/trainable.safetensors"))
        XCTAssertEqual(Checkpoints.list(directory: dir).map(\.step), [4, 8])
        let resumed = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: run).run(resume: true)
        XCTAssertEqual(resumed.ending, .completed)
        XCTAssertEqual(resumed.steps, 12)
        // The resumed run removed the killed write's temporary folder (it is as big as a checkpoint).
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [])
    }

    /// The soak (#17) killed a run while pruning step 10: `step-000010` kept its trainer state but
    /// lost its weights, and still listed as complete. Pruning now renames first; what a kill
    /// leaves is a `.tmp-` folder the next run removes, and a checkpoint missing a file is not listed.
    func testACheckpointHalfDeletedByAKilledPruneIsNotListed() throws {
        let run = temporaryRun()
        let first = try Trainer(model: TinyFamily(), data: MemorySource(count: 20), configuration: configuration(), runDirectory: run)
        _ = try first.run { $0.event == .step && $0.step == 8 ? .stop : .proceed }
        let dir = run + "/checkpoints"
        Checkpoints.prune(directory: dir, keep: 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["step-000008"])
        // Kill -9 inside the recursive delete of the old way: the state file outlived the weights.
        try FileManager.default.removeItem(atPath: dir + "/step-000008/trainable.safetensors")
        XCTAssertEqual(Checkpoints.list(directory: dir).map(\.step), [])
        // Kill -9 inside the new way's delete: only a temporary folder remains, removed by the next run.
        let pruned = dir + "/.tmp-pruned-step-000004"
        try FileManager.default.createDirectory(atPath: pruned, withIntermediateDirectories: true)
        try Data([1]).write(to: URL(fileURLWithPath: pruned + "/trainer_state.json"))
        XCTAssertEqual(Checkpoints.removeTemporaries(directory: dir), [".tmp-pruned-step-000004"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["step-000008"])
    }

    func testAccumulatedMicroBatchesEqualOneLargerBatch() throws {
        func train(batch: Int, accumulation: Int) throws -> [String: [Float]] {
            var c = configuration(steps: 3, method: .full)
            c.batchSize = batch
            c.gradientAccumulation = accumulation
            c.saveEvery = 0
            c.warmupSteps = 0
            let family = TinyFamily()
            _ = try Trainer(model: family, data: MemorySource(count: 48), configuration: c, runDirectory: temporaryRun()).run()
            return Dictionary(uniqueKeysWithValues: family.net.parameters().map { ($0.key, $0.array.asArray(Float.self)) })
        }
        let big = try train(batch: 16, accumulation: 1)
        let small = try train(batch: 4, accumulation: 4)
        for (key, values) in big {
            // Summation order differs (the BLAS blocks 16 rows and 4 rows differently), so the
            // three AdamW steps agree to float32 rounding, not to the bit.
            let worst = zip(values, small[key]!).map { Swift.abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, key)
        }
    }

    func testQLoRATrainsAdaptersOverAQuantizedBase() throws {
        var c = configuration(steps: 30, method: .qlora)
        c.quantizationBits = 8
        c.lora.loraDropout = 0
        let family = TinyFamily()
        let trainer = try Trainer(model: family, data: MemorySource(count: 64), configuration: c, runDirectory: temporaryRun())
        let trainable = try trainer.prepare()
        XCTAssertTrue(trainable.allSatisfy { $0.contains("lora_") })
        XCTAssertTrue(family.net.parameters().contains { $0.key == "q_proj.scales" })
        var losses: [Float] = []
        _ = try trainer.run { p in
            if p.event == .step { losses.append(p.loss) }
            return .proceed
        }
        XCTAssertLessThan(losses.suffix(5).reduce(0, +), losses.prefix(5).reduce(0, +))
    }

    func testNonFiniteLossStopsNamingTheStepOrIsSkipped() throws {
        let family = TinyFamily()
        family.poison = true
        XCTAssertThrowsError(try Trainer(model: family, data: MemorySource(count: 16), configuration: configuration(), runDirectory: temporaryRun()).run()) { error in
            XCTAssertTrue("\(error)".contains("at step 1"), "\(error)")
            XCTAssertTrue("\(error)".contains("no checkpoint"), "\(error)")
        }
        var c = configuration(steps: 3)
        c.onNaN = .skip
        let summary = try Trainer(model: family, data: MemorySource(count: 16), configuration: c, runDirectory: temporaryRun()).run()
        XCTAssertEqual(summary.steps, 3)
    }

    func testEarlyStoppingKeepsTheBestAdapter() throws {
        let run = temporaryRun()
        var c = configuration(steps: 40)
        c.evalEvery = 2
        c.patience = 2
        let trainer = try Trainer(model: TinyFamily(), data: MemorySource(count: 16), configuration: c, runDirectory: run)
        var calls = 0
        trainer.validate = {
            calls += 1
            // The first is the base model's score before step 1: logged, not a candidate for best.
            return ValidationResult(metrics: [("cer", [0.2, 0.5, 0.3, 0.4, 0.35, 0.31][min(calls - 1, 5)])], samples: [("ab", "ac")])
        }
        var evaluated: [Int] = []
        let summary = try trainer.run { p in
            if p.event == .evaluation { evaluated.append(p.step) }
            return .proceed
        }
        XCTAssertEqual(evaluated, [0, 2, 4, 6, 8])
        XCTAssertEqual(summary.ending, .earlyStopped)
        XCTAssertEqual(summary.bestMetric, 0.3)
        XCTAssertEqual(summary.bestStep, 4)
        XCTAssertEqual(summary.steps, 8)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/best/adapter_model.safetensors"))
        let log = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        XCTAssertTrue(log.split(separator: "\n").first { $0.contains("\"event\":\"evaluation\"") }?.contains("\"step\":0") ?? false, log)
    }

    func testStagesTrainOnlyTheirGroups() throws {
        var c = configuration(steps: 6, method: .full)
        c.stages = [TrainingStage(name: "head", steps: 3, learningRate: 1e-2, trainGroups: ["head"]), TrainingStage(name: "joint", steps: 3, learningRate: 1e-3)]
        let family = TinyFamily()
        let before = family.net.first.weight.asArray(Float.self)
        let trainer = try Trainer(model: family, data: MemorySource(count: 32), configuration: c, runDirectory: temporaryRun())
        var changedDuringStage1 = false
        _ = try trainer.run { p in
            if p.event == .step, p.step == 3 { changedDuringStage1 = family.net.first.weight.asArray(Float.self) != before }
            return .proceed
        }
        XCTAssertFalse(changedDuringStage1)
        XCTAssertNotEqual(family.net.first.weight.asArray(Float.self), before)
    }

    func testFreezeNamesMustMatchAGroupOrAParameter() throws {
        var c = configuration(steps: 2, method: .full)
        for valid in [["body"], ["head.*"]] {  // a group, a key pattern
            c.freeze = valid
            XCTAssertNoThrow(try Trainer(model: TinyFamily(), data: MemorySource(count: 16), configuration: c, runDirectory: temporaryRun()).prepare())
        }
        c.freeze = ["body", "bdoy"]
        let misspelt = try Trainer(model: TinyFamily(), data: MemorySource(count: 16), configuration: c, runDirectory: temporaryRun())
        XCTAssertThrowsError(try misspelt.prepare()) { error in
            XCTAssertTrue("\(error)".contains("'bdoy'"), "\(error)")
            XCTAssertTrue("\(error)".contains("body, head"), "\(error)")
        }
    }

    func testGradientCheckpointingIsRefusedWhereAFamilyHasNone() throws {
        var c = configuration(steps: 2)
        c.gradientCheckpointing = true
        c.lora.loraDropout = 0
        let trainer = try Trainer(model: TinyFamily(), data: MemorySource(count: 16), configuration: c, runDirectory: temporaryRun())
        XCTAssertThrowsError(try trainer.prepare()) { XCTAssertTrue("\($0)".contains("does not support"), "\($0)") }
        c.lora.loraDropout = 0.1
        let withDropout = try Trainer(model: TinyFamily(), data: MemorySource(count: 16), configuration: c, runDirectory: temporaryRun())
        XCTAssertThrowsError(try withDropout.prepare()) { XCTAssertTrue("\($0)".contains("lora_dropout"), "\($0)") }
    }
}
