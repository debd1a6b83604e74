// A tiny model family and an in-memory data source for the trainer's tests.

import Foundation
import MLXEngine
import MLXNN
import OCRSupport
import OCRTraining

/// y = W₂ tanh(W₁ x) with LoRA-able layers named like a transformer's.
final class TinyRegressor: Module {
    @ModuleInfo(key: "q_proj") var first: Linear
    @ModuleInfo(key: "o_proj") var second: Linear
    @ModuleInfo(key: "head") var head: Linear

    init(seed: UInt64) {
        let keys = MLXRandom.split(MLXRandom.key(seed), count: 3)
        _first.wrappedValue = Linear(64, 64, key: keys[0])
        _second.wrappedValue = Linear(64, 64, key: keys[1])
        _head.wrappedValue = Linear(64, 1, key: keys[2])
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { head(tanh(second(tanh(first(x))))) }
}

struct Batch {
    let x: MLXArray
    let y: MLXArray
}

final class TinyFamily: TrainableModel {
    let net: TinyRegressor
    var poison = false
    init(seed: UInt64 = 7) { net = TinyRegressor(seed: seed) }
    var module: Module { net }
    var parameterGroups: [String: [String]] { ["body": ["q_proj", "o_proj"], "head": ["head"]] }
    var defaultLoRATargets: [String] { ["q_proj", "o_proj"] }
    func loss(_ batch: Batch) -> MLXArray {
        let l = mseLoss(net(batch.x), batch.y)
        return poison ? l * Double.nan : l
    }
}

/// `count` samples of a fixed function; each epoch's order is a seeded permutation.
final class MemorySource: BatchSource {
    let xs: [[Float]]
    let ys: [Float]
    let seed: UInt64
    private(set) var position = DataPosition()
    private var order: [Int] = []

    init(count: Int, seed: UInt64 = 1) {
        var rng = SplitMix64(seed: 99)
        xs = (0 ..< count).map { _ in (0 ..< 64).map { _ in Float(rng.nextUnit() * 2 - 1) } }
        ys = xs.map { x in Foundation.sin(x[0] * 2) + 0.5 * x[1] * x[2] }
        self.seed = seed
        order = permutation(epoch: 0)
    }

    var samplesPerEpoch: Int { xs.count }

    private func permutation(epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 1_000_003)
        var o = Array(0 ..< xs.count)
        for i in stride(from: o.count - 1, to: 0, by: -1) { o.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return o
    }

    func seek(to p: DataPosition) throws {
        position = p
        order = permutation(epoch: p.epoch)
    }

    func nextBatch(size: Int) throws -> Batch? {
        guard position.index < xs.count else { return nil }
        let ids = order[position.index ..< min(position.index + size, xs.count)]
        position.index += ids.count
        return Batch(
            x: MLXArray(ids.flatMap { xs[$0] }, [ids.count, 64]),
            y: MLXArray(ids.map { ys[$0] }, [ids.count, 1]))
    }
}

func temporaryRun(_ name: String = "run") -> String {
    NSTemporaryDirectory() + "ocrtune-train-\(UUID().uuidString)/\(name)"
}
