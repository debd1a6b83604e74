// Windows of wide images and the merge of their texts (`--chunk`).

@testable import OCRModels
import XCTest

final class ChunkingTests: XCTestCase {
    func testWindowsCoverTheImageWithOverlap() {
        let windows = chunkWindows(width: 1000, height: 100, aspect: 3, options: ChunkingOptions(overlap: 0.25))
        XCTAssertEqual(windows.first, 0 ..< 300)
        XCTAssertEqual(windows.last, 700 ..< 1000)
        XCTAssertTrue(windows.allSatisfy { $0.count == 300 })
        for (a, b) in zip(windows, windows.dropFirst()) {
            XCTAssertGreaterThanOrEqual(a.upperBound - b.lowerBound, 75, "consecutive windows overlap")
        }
        XCTAssertEqual(chunkWindows(width: 350, height: 100, aspect: 3), [0 ..< 350], "not wide enough to cut")
        XCTAssertEqual(chunkWindows(width: 0, height: 100, aspect: 3), [0 ..< 0])
    }

    func testMergeOnExactSuffixPrefix() {
        XCTAssertEqual(mergeChunkTexts(["the quick brown", "brown fox jumps"]), "the quick brown fox jumps")
        XCTAssertEqual(mergeChunkTexts([#"\frac{a}{b} + \sq"#, #"+ \sqrt{c} = d"#, "= d^2"]), #"\frac{a}{b} + \sqrt{c} = d^2"#)
        XCTAssertEqual(mergeChunkTexts(["only one"]), "only one")
        XCTAssertEqual(mergeChunkTexts([]), "")
    }

    func testMergeDropsFragmentsCutByWindowEdges() {
        // The first window ends in half a letter ("j"), the second starts with half of "r".
        XCTAssertEqual(mergeChunkTexts(["hello world j", "n world peace"]), "hello world peace")
    }

    func testShortOverlapIsNotTrusted() {
        XCTAssertEqual(mergeChunkTexts(["abc", "xyz"]), "abc xyz")
        XCTAssertEqual(mergeChunkTexts(["abcd", "dxyz"], minOverlap: 2), "abcd dxyz")
        XCTAssertEqual(mergeChunkTexts(["abcd", "dxyz"], minOverlap: 1), "abcdxyz")
    }
}
