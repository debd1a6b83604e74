// A batch source over items held in memory: per-epoch seeded shuffles, an optional second
// set mixed into every batch, and exact resume.

import Foundation
import OCRSupport

/// Batches of `Item`s turned into a family's `Batch` by `collate`.
///
/// Each epoch's order is a Fisher–Yates shuffle seeded by (seed, epoch). With a mix set, each
/// batch of `size` takes `round(size × ratio)` mix items (at least 1) and the rest from the main
/// items; the mix items come from the mix set's own shuffled stream at a cursor derived from
/// the batch's position, so resuming at a position reproduces the same batches exactly.
public final class MemoryBatchSource<Item, Batch>: BatchSource {
    public let items: [Item]
    public let mix: (items: [Item], ratio: Double)?
    public let seed: UInt64
    private let collate: ([Item]) throws -> Batch
    public private(set) var position = DataPosition()
    private var order: [Int] = []
    private var mixOrder: [Int] = []
    private var mixRound = -1

    public init(items: [Item], mix: (items: [Item], ratio: Double)? = nil, seed: UInt64, collate: @escaping ([Item]) throws -> Batch) {
        precondition(mix.map { $0.ratio > 0 && $0.ratio < 1 && !$0.items.isEmpty } ?? true, "mix ratio must be in (0, 1) with items")
        self.items = items
        self.mix = mix
        self.seed = seed
        self.collate = collate
        order = Self.shuffled(items.count, seed: seed, epoch: 0)
    }

    public var samplesPerEpoch: Int { items.count }

    public func seek(to position: DataPosition) throws {
        if position.epoch != self.position.epoch || order.isEmpty {
            order = Self.shuffled(items.count, seed: seed, epoch: position.epoch)
        }
        self.position = position
    }

    /// How many of a batch of `size` come from the mix set.
    public func mixCount(batchSize size: Int) -> Int {
        guard let mix else { return 0 }
        return Swift.min(size - 1, Swift.max(1, Int((Double(size) * mix.ratio).rounded())))
    }

    public func nextBatch(size: Int) throws -> Batch? {
        try nextItems(size: size).map(collate)
    }

    public func nextBatch(size: Int, shard: BatchShard) throws -> ShardedBatch<Batch>? {
        guard let all = try nextItems(size: size) else { return nil }
        let part = Array(all[shard.bounds(of: all.count)])
        return ShardedBatch(batch: part.isEmpty ? nil : try collate(part), samples: part.count)
    }

    /// The items of the next batch (main items, then mix items), moving past its main items.
    private func nextItems(size: Int) throws -> [Item]? {
        guard position.index < items.count else { return nil }
        let fromMix = mixCount(batchSize: size)
        let take = Swift.min(size - fromMix, items.count - position.index)
        var batch = order[position.index ..< position.index + take].map { items[$0] }
        if let mix, fromMix > 0 {
            // The cursor is a function of (epoch, index): exact under resume.
            let mainPerBatch = Swift.max(1, size - fromMix)
            let batchesPerEpoch = (items.count + mainPerBatch - 1) / mainPerBatch
            let batchNumber = position.epoch * batchesPerEpoch + position.index / mainPerBatch
            for k in 0 ..< fromMix {
                let cursor = batchNumber * fromMix + k
                let round = cursor / mix.items.count
                if round != mixRound {
                    mixOrder = Self.shuffled(mix.items.count, seed: seed ^ 0x6D69_7865_645F_7365, epoch: round)
                    mixRound = round
                }
                batch.append(mix.items[mixOrder[cursor % mix.items.count]])
            }
        }
        position.index += take
        return batch
    }

    static func shuffled(_ n: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: seed).derived(UInt64(epoch))
        var order = Array(0 ..< n)
        rng.shuffle(&order)
        return order
    }
}
