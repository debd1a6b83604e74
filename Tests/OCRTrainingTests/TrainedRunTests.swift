// export --merge on the tiny family: a run's output or checkpoint restored onto a fresh base
// and merged gives the trained model's outputs, in the base model's own layout.

import Foundation
import MLXEngine
import MLXNN
import OCRTraining
import XCTest

final class TrainedRunTests: XCTestCase {
    private func configuration(_ method: FineTuningMethod, steps: Int = 10) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.method = method
        c.lora = LoRAConfiguration(r: 4, alpha: 8, dropout: 0, targetModules: [])
        c.learningRate = 1e-2
        c.batchSize = 8
        c.maxSteps = steps
        c.saveEvery = 4
        c.evalEvery = 0
        c.seed = 5
        return c
    }

    private let probe = MLXRandom.uniform([16, 64], low: -1, high: 1, key: MLXRandom.key(77))

    private func outputs(_ family: TinyFamily) throws -> [Float] {
        family.net.train(false)
        let y = family.net(probe)
        try eval(y)
        return y.asArray(Float.self)
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// Trains (stopping after `stopAt` steps when given), then restores the run onto a fresh
    /// base and merges; returns (trained outputs, base outputs, merged outputs, folder read, merged family).
    private func trainAndExport(_ c: TrainingConfiguration, stopAt: Int? = nil, from: String? = nil)
        throws -> (trained: [Float], base: [Float], merged: [Float], read: String, family: TinyFamily)
    {
        let run = temporaryRun()
        let family = TinyFamily()
        let base = try outputs(TinyFamily())
        let trainer = try Trainer(model: family, data: MemorySource(count: 40), configuration: c, runDirectory: run)
        _ = try trainer.run { p in stopAt.map { p.event == .step && p.step == $0 ? .stop : .proceed } ?? .proceed }
        let trained = try outputs(family)

        let fresh = TinyFamily()
        let read = try TrainedRun.restore(fresh, run: run, configuration: try TrainedRun.configuration(of: run), from: from.map { run + "/" + $0 })
        try fresh.net.mergeForExport()
        return (trained, base, try outputs(fresh), read, fresh)
    }

    private func assertBaseLayout(_ family: TinyFamily, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(family.net.parameters().map(\.key)), Set(TinyFamily().net.parameters().map(\.key)), file: file, line: line)
        XCTAssertFalse(family.net.namedModules().contains { $0.module is LoRALinear || $0.module is QuantizedLinear }, file: file, line: line)
    }

    func testLoRARunExportsItsAdapterMerged() throws {
        let r = try trainAndExport(configuration(.lora))
        XCTAssertTrue(r.read.hasSuffix("/adapter"))
        XCTAssertGreaterThan(maxDifference(r.trained, r.base), 1e-2, "training changed nothing")
        XCTAssertLessThan(maxDifference(r.merged, r.trained), 1e-5)
        assertBaseLayout(r.family)
    }

    func testAStoppedLoRARunExportsItsNewestCheckpoint() throws {
        let r = try trainAndExport(configuration(.lora), stopAt: 6)
        XCTAssertTrue(r.read.hasSuffix("checkpoints/step-000006"), r.read)
        XCTAssertLessThan(maxDifference(r.merged, r.trained), 1e-5)
        // An older checkpoint is another model.
        let older = try trainAndExport(configuration(.lora), stopAt: 6, from: "checkpoints/step-000004")
        XCTAssertGreaterThan(maxDifference(older.merged, r.trained), 1e-4)
    }

    func testFullRunExportsItsModelOrACheckpoint() throws {
        let fromModel = try trainAndExport(configuration(.full, steps: 8))
        XCTAssertTrue(fromModel.read.hasSuffix("/model"))
        XCTAssertGreaterThan(maxDifference(fromModel.trained, fromModel.base), 1e-2)
        XCTAssertLessThan(maxDifference(fromModel.merged, fromModel.trained), 1e-6)
        let fromCheckpoint = try trainAndExport(configuration(.full, steps: 8), from: "checkpoints/step-000008")
        XCTAssertLessThan(maxDifference(fromCheckpoint.merged, fromCheckpoint.trained), 1e-6)
        assertBaseLayout(fromCheckpoint.family)
    }

    func testQLoRARunExportsADequantizedBasePlusTheAdapter() throws {
        // q_proj and o_proj carry adapters; the head is quantized without one.
        let r = try trainAndExport(configuration(.qlora))
        XCTAssertLessThan(maxDifference(r.merged, r.trained), 1e-4)
        assertBaseLayout(r.family)
    }

    func testAMismatchedSourceIsRefusedNamingTheFolder() throws {
        let run = temporaryRun()
        _ = try Trainer(model: TinyFamily(), data: MemorySource(count: 16), configuration: configuration(.lora, steps: 2), runDirectory: run).run()
        var full = configuration(.full)
        full.maxSteps = 2
        XCTAssertThrowsError(try TrainedRun.restore(TinyFamily(), run: run, configuration: full, from: run + "/adapter")) {
            XCTAssertTrue("\($0)".contains("/adapter: an adapter, but"), "\($0)")
        }
        XCTAssertThrowsError(try TrainedRun.restore(TinyFamily(), run: run, configuration: configuration(.lora), from: run + "/nothing")) {
            XCTAssertTrue("\($0)".contains("nothing: not found"), "\($0)")
        }
    }
}
