import OCRSupport
import XCTest
@testable import OCRMetrics

final class EditDistanceTests: XCTestCase {

    private func ids(_ s: String) -> [Int] { s.unicodeScalars.map { Int($0.value) } }

    // MARK: Hand-computed distances

    func testClassicExamples() {
        // kitten → sitting: k→s, e→i, insert g = 3
        XCTAssertEqual(Levenshtein.distance(ids("kitten"), ids("sitting")), 3)
        // flaw → lawn: delete f, insert n = 2
        XCTAssertEqual(Levenshtein.distance(ids("flaw"), ids("lawn")), 2)
        // identical = 0; against empty = length
        XCTAssertEqual(Levenshtein.distance(ids("abc"), ids("abc")), 0)
        XCTAssertEqual(Levenshtein.distance(ids("abc"), []), 3)
        XCTAssertEqual(Levenshtein.distance([], ids("abcd")), 4)
        XCTAssertEqual(Levenshtein.distance([], []), 0)
        // 一二三 → 二二三: one substitution
        XCTAssertEqual(Levenshtein.distance(ids("一二三"), ids("二二三")), 1)
        // Negative and huge ids are fine.
        XCTAssertEqual(Levenshtein.distance([-5, Int.max, 7], [Int.max, 7, Int.min]), 2)
        XCTAssertEqual(Levenshtein.distance([Int.min, 0, Int.min, 1], [0, Int.min, 2, Int.min]), 3)
        XCTAssertEqual(Levenshtein.distance([Int.min, 0, Int.min, 1], [0, Int.min, 2, Int.min]),
                       Levenshtein.distanceDP([Int.min, 0, Int.min, 1], [0, Int.min, 2, Int.min]))
    }

    func testLongPatternsUseBlocks() {
        // 200 x "a" vs 200 x "b": 200 substitutions.
        let a = [Int](repeating: 1, count: 200)
        let b = [Int](repeating: 2, count: 200)
        XCTAssertEqual(Levenshtein.distance(a, b), 200)
        // 130 units vs the same with one unit dropped in the middle: 1.
        let long = (0..<130).map { $0 % 7 }
        var shorter = long
        shorter.remove(at: 65)
        XCTAssertEqual(Levenshtein.distance(long, shorter), 1)
    }

    // MARK: Randomized cross-checks against the DP

    func testMyersMatchesDynamicProgramming() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<3000 {
            let alphabet = Int.random(in: 1...6, using: &rng)
            let n = Int.random(in: 0...80, using: &rng)
            let m = Int.random(in: 0...80, using: &rng)
            let a = (0..<n).map { _ in Int.random(in: 0..<alphabet, using: &rng) * 1_000_003 }
            let b = (0..<m).map { _ in Int.random(in: 0..<alphabet, using: &rng) * 1_000_003 }
            XCTAssertEqual(Levenshtein.distance(a, b), Levenshtein.distanceDP(a, b), "\(a) vs \(b)")
        }
    }

    func testBlockAlgorithmDirectly() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<400 {
            let alphabet = Int.random(in: 2...30, using: &rng)
            let m = Int.random(in: 1...300, using: &rng)
            let n = Int.random(in: 0...300, using: &rng)
            let pattern = (0..<m).map { _ in Int.random(in: 0..<alphabet, using: &rng) }
            // Texts that share long runs with the pattern exercise carries across blocks.
            var text = pattern.filter { _ in Int.random(in: 0..<10, using: &rng) != 0 }
            if Bool.random(using: &rng) { text = (0..<n).map { _ in Int.random(in: 0..<alphabet, using: &rng) } }
            let expected = Levenshtein.distanceDP(pattern, text)
            let block = pattern.withUnsafeBufferPointer { p in
                text.withUnsafeBufferPointer { t in Levenshtein.myersBlock(pattern: p, text: t) }
            }
            XCTAssertEqual(block, expected, "m=\(m) n=\(text.count)")
            if m <= 64 {
                let single = pattern.withUnsafeBufferPointer { p in
                    text.withUnsafeBufferPointer { t in Levenshtein.myersSingleWord(pattern: p, text: t) }
                }
                XCTAssertEqual(single, expected)
            }
            XCTAssertEqual(Levenshtein.distance(pattern, text), expected)
        }
    }

    func testExactly64AndManyDistinctSymbols() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<200 {
            // 64 distinct symbols fill half of the 128-slot table.
            let pattern = (0..<64).map { _ in Int.random(in: 0..<100_000, using: &rng) }
            let text = (0..<Int.random(in: 0...100, using: &rng)).map { _ in
                Bool.random(using: &rng) ? pattern.randomElement(using: &rng)! : Int.random(in: 0..<100_000, using: &rng)
            }
            XCTAssertEqual(Levenshtein.distance(pattern, text), Levenshtein.distanceDP(pattern, text))
        }
    }

    // MARK: Alignment

    func testAlignmentOperations() {
        // abc vs ac: a=a, delete b, c=c
        XCTAssertEqual(EditAlignment.align(ids("abc"), ids("ac")),
                       [.match(ref: 0, pred: 0), .deletion(ref: 1), .match(ref: 2, pred: 1)])
        // ab vs axb: insertion of x
        XCTAssertEqual(EditAlignment.align(ids("ab"), ids("axb")),
                       [.match(ref: 0, pred: 0), .insertion(pred: 1), .match(ref: 1, pred: 2)])
        // 一二三 vs 二二三: substitution at 0
        XCTAssertEqual(EditAlignment.align(ids("一二三"), ids("二二三")),
                       [.substitution(ref: 0, pred: 0), .match(ref: 1, pred: 1), .match(ref: 2, pred: 2)])
        XCTAssertEqual(EditAlignment.align([], ids("ab")), [.insertion(pred: 0), .insertion(pred: 1)])
        XCTAssertEqual(EditAlignment.align(ids("ab"), []), [.deletion(ref: 0), .deletion(ref: 1)])
        XCTAssertEqual(EditAlignment.align([], []), [])
    }

    func testAlignmentCostEqualsDistanceAndCoversSequences() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<500 {
            let a = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int.random(in: 0..<4, using: &rng) }
            let b = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int.random(in: 0..<4, using: &rng) }
            let operations = EditAlignment.align(a, b)
            XCTAssertEqual(operations.filter(\.isEdit).count, Levenshtein.distance(a, b))
            var refIndices: [Int] = []
            var predIndices: [Int] = []
            for operation in operations {
                switch operation {
                case let .match(r, p):
                    XCTAssertEqual(a[r], b[p])
                    refIndices.append(r)
                    predIndices.append(p)
                case let .substitution(r, p):
                    XCTAssertNotEqual(a[r], b[p])
                    refIndices.append(r)
                    predIndices.append(p)
                case let .deletion(r): refIndices.append(r)
                case let .insertion(p): predIndices.append(p)
                }
            }
            XCTAssertEqual(refIndices, Array(a.indices))
            XCTAssertEqual(predIndices, Array(b.indices))
        }
    }
}
