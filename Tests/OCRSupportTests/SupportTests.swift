// Seeded randomness and atomic folders.

import Foundation
import OCRSupport
import XCTest

final class SupportTests: XCTestCase {
    func testSplitMix64ReferenceValuesAndDerivedStreams() {
        // Reference outputs of SplitMix64 seeded with 0 (Vigna's C implementation).
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual([rng.next(), rng.next(), rng.next()], [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        let base = SplitMix64(seed: 42)
        var a = base.derived(1)
        var b = base.derived(1)
        var c = base.derived(2)
        XCTAssertEqual(a.next(), b.next())
        XCTAssertNotEqual(a.next(), c.next())
        var u = SplitMix64(seed: 7)
        let units = (0 ..< 1000).map { _ in u.nextUnit() }
        XCTAssertTrue(units.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(units.reduce(0, +) / 1000, 0.5, accuracy: 0.05)
    }

    func testAtomicDirectoryIsCompleteOrAbsent() throws {
        let root = NSTemporaryDirectory() + "ocrtune-support-\(UUID().uuidString)"
        let target = root + "/out"
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicDirectory.write(to: target) { tmp in
            try Data("half".utf8).write(to: URL(fileURLWithPath: tmp + "/a.txt"))
            throw Boom()
        })
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [])
        try AtomicDirectory.write(to: target) { tmp in try Data("x".utf8).write(to: URL(fileURLWithPath: tmp + "/a.txt")) }
        try AtomicDirectory.write(to: target) { tmp in try Data("y".utf8).write(to: URL(fileURLWithPath: tmp + "/b.txt")) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["b.txt"])
    }
}
