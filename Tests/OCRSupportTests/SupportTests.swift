// Seeded randomness and atomic folders.

import Foundation
@testable import OCRSupport
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

    /// What SIGKILL leaves of an atomic write: a temporary folder named with the dead writer's
    /// process id. The next write to that target removes it; a live writer's and a foreign name stay.
    func testAtomicDirectoryRemovesTemporariesOfDeadWriters() throws {
        let root = NSTemporaryDirectory() + "ocrtune-support-\(UUID().uuidString)"
        let fm = FileManager.default
        let dead = root + "/.out.tmp-999999999-0badf00d"  // above Linux's pid_max: never a process
        let live = root + "/.out.tmp-\(getpid())-1234abcd"
        let foreign = root + "/.out.tmp-notes"
        for folder in [dead, live, foreign] { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try Data([1, 2]).write(to: URL(fileURLWithPath: dead + "/half.safetensors"))
        XCTAssertFalse(StaleTemporaries.isRunning(999_999_999))
        XCTAssertTrue(StaleTemporaries.isRunning(getpid()))
        try AtomicDirectory.write(to: root + "/out") { tmp in
            XCTAssertTrue((tmp as NSString).lastPathComponent.hasPrefix(".out.tmp-\(getpid())-"))
            try Data("x".utf8).write(to: URL(fileURLWithPath: tmp + "/a.txt"))
        }
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root).sorted(), [".out.tmp-\(getpid())-1234abcd", ".out.tmp-notes", "out"])
        XCTAssertEqual(StaleTemporaries.remove(in: root, prefix: ".out.tmp-"), [])
    }

    /// Replacing a folder: the old one stays complete at the target until the new one takes its
    /// place, both with the atomic exchange (Linux) and with the two-rename fallback, and nothing
    /// is left beside it.
    func testAtomicDirectoryReplacesWithAndWithoutExchange() throws {
        defer { AtomicDirectory.allowExchange = true }
        for exchange in [true, false] {
            AtomicDirectory.allowExchange = exchange
            let root = NSTemporaryDirectory() + "ocrtune-support-\(UUID().uuidString)"
            let target = root + "/out"
            try AtomicDirectory.write(to: target) { tmp in try Data("old".utf8).write(to: URL(fileURLWithPath: tmp + "/a.txt")) }
            try AtomicDirectory.write(to: target) { tmp in
                XCTAssertEqual(try String(contentsOfFile: target + "/a.txt", encoding: .utf8), "old")
                try Data("new".utf8).write(to: URL(fileURLWithPath: tmp + "/b.txt"))
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["b.txt"], "exchange \(exchange)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), ["out"], "exchange \(exchange)")
        }
    }

    /// SIGKILL between the two renames of the fallback path leaves the previous folder under
    /// `.NAME.old-PID-…` and no NAME. The hook records that state as the real code leaves it; the
    /// same state with a dead writer's pid is then repaired by `recover` and by the next `write`,
    /// also when that write fails; a leftover beside a complete NAME (a kill after the second
    /// rename) is removed, and a running writer's entry is left alone.
    func testAtomicDirectoryRecoversFolderMovedAsideByKilledWriter() throws {
        let fm = FileManager.default
        let root = NSTemporaryDirectory() + "ocrtune-support-\(UUID().uuidString)"
        let target = root + "/out"
        try AtomicDirectory.write(to: target) { tmp in try Data("old".utf8).write(to: URL(fileURLWithPath: tmp + "/a.txt")) }
        var atKill: [String] = []
        AtomicDirectory.allowExchange = false
        AtomicDirectory.betweenRenames = { atKill = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() }
        defer { AtomicDirectory.allowExchange = true; AtomicDirectory.betweenRenames = nil }
        try AtomicDirectory.write(to: target) { tmp in try Data("old".utf8).write(to: URL(fileURLWithPath: tmp + "/a.txt")) }
        XCTAssertEqual(atKill.count, 2)
        XCTAssertFalse(atKill.contains("out"))
        XCTAssertTrue(atKill[0].hasPrefix(".out.old-\(getpid())-"), "\(atKill)")
        XCTAssertTrue(atKill[1].hasPrefix(".out.tmp-\(getpid())-"), "\(atKill)")
        AtomicDirectory.betweenRenames = nil

        // The state a kill there leaves, with a writer that is gone (pid above Linux's pid_max).
        func killed() throws {
            try fm.moveItem(atPath: target, toPath: root + "/.out.old-999999999-0badf00d")
            try fm.createDirectory(atPath: root + "/.out.tmp-999999999-0badf00d", withIntermediateDirectories: true)
            XCTAssertFalse(fm.fileExists(atPath: target))
        }
        try killed()
        XCTAssertTrue(AtomicDirectory.recover(target))
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root), ["out"])
        XCTAssertEqual(try String(contentsOfFile: target + "/a.txt", encoding: .utf8), "old")

        try killed()
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicDirectory.write(to: target) { _ in throw Boom() })
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root), ["out"])
        XCTAssertEqual(try String(contentsOfFile: target + "/a.txt", encoding: .utf8), "old")

        // A kill after the second rename: NAME is complete, the leftover goes.
        try fm.createDirectory(atPath: root + "/.out.old-999999999-feedf00d", withIntermediateDirectories: true)
        let live = root + "/.out.old-\(getpid())-1234abcd"
        try fm.createDirectory(atPath: live, withIntermediateDirectories: true)
        XCTAssertFalse(AtomicDirectory.recover(target))
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root).sorted(), [".out.old-\(getpid())-1234abcd", "out"])
    }
}
