// The in-memory batch source: epochs, mixing and exact resume.

import OCRTraining
import XCTest

final class MemoryBatchSourceTests: XCTestCase {
    private func drain(_ s: MemoryBatchSource<Int, [Int]>, size: Int, batches: Int) throws -> [[Int]] {
        var out: [[Int]] = []
        while out.count < batches {
            if let b = try s.nextBatch(size: size) { out.append(b) } else { try s.seek(to: DataPosition(epoch: s.position.epoch + 1, index: 0)) }
        }
        return out
    }

    func testEpochsArePermutationsAndDifferBySeedAndEpoch() throws {
        let s = MemoryBatchSource(items: Array(0 ..< 10), seed: 3) { $0 }
        let epoch0 = try drain(s, size: 4, batches: 3).flatMap { $0 }
        XCTAssertEqual(epoch0.sorted(), Array(0 ..< 10))
        let epoch1 = try drain(s, size: 4, batches: 3).flatMap { $0 }
        XCTAssertEqual(epoch1.sorted(), Array(0 ..< 10))
        XCTAssertNotEqual(epoch0, epoch1)
        let other = MemoryBatchSource(items: Array(0 ..< 10), seed: 4) { $0 }
        XCTAssertNotEqual(try drain(other, size: 4, batches: 3).flatMap { $0 }, epoch0)
    }

    func testMixedBatchesHaveTheRatioAndResumeExactly() throws {
        let make = { MemoryBatchSource(items: Array(0 ..< 20), mix: (Array(100 ..< 107), 0.25), seed: 9) { $0 } }
        let full = try drain(make(), size: 8, batches: 12)
        for batch in full {
            XCTAssertEqual(batch.filter { $0 >= 100 }.count, 2)
        }
        // Every mix item is used before any repeats within a round.
        let mixStream = full.flatMap { $0.filter { $0 >= 100 } }
        XCTAssertEqual(Set(mixStream.prefix(7)).count, 7)
        // Stop after 5 batches, reopen, seek, continue: identical batches.
        let first = make()
        let head = try drain(first, size: 8, batches: 5)
        let resumed = make()
        try resumed.seek(to: first.position)
        let tail = try drain(resumed, size: 8, batches: 7)
        XCTAssertEqual(head + tail, full)
    }
}
