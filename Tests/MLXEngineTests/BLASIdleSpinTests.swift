// Threads.setBLASIdleSpin: OpenBLAS's workers restarted with a shorter spin before they sleep
// (what `ocrtune serve` does at start); thread count and products unchanged.

import Foundation
import MLXEngine
import XCTest

final class BLASIdleSpinTests: XCTestCase {
    func testShorterSpinKeepsThreadCountAndProducts() throws {
        try XCTSkipIf(Threads.blas == nil, "the BLAS is not OpenBLAS")
        let threads = Threads.blas
        let a = randn([384, 256], seed: 7), b = randn([256, 320], seed: 8)
        let before = matmul(a, b)
        try eval(before)

        XCTAssertTrue(try Threads.setBLASIdleSpin(log2Cycles: 4))
        defer { _ = try? Threads.setBLASIdleSpin(log2Cycles: 28) }  // OpenBLAS's default back
        XCTAssertEqual(ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"], "4")
        XCTAssertEqual(Threads.blas, threads)
        // Twice: the restarted workers take the first product, sleep, and wake for the second.
        for _ in 0 ..< 2 {
            let after = matmul(a, b)
            try eval(after)
            XCTAssertEqual(abs(after - before).max().item(Float.self), 0)
            usleep(2_000)
        }
    }

    func testOutOfRangeSpinIsAnError() {
        XCTAssertThrowsError(try Threads.setBLASIdleSpin(log2Cycles: 3))
        XCTAssertThrowsError(try Threads.setBLASIdleSpin(log2Cycles: 31))
    }
}
