// The built `ocrtune` binary, for tests that run the command line (`make test` builds it first).

import Foundation
import XCTest

public enum Binaries {
    /// Tests/ (from this file's path).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `ocrtune` next to the test bundle (or $OCRTUNE_BIN); fails and skips when it was not built.
    public static func ocrtune() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["OCRTUNE_BIN"] { return URL(fileURLWithPath: path) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.pathExtension == "xctest" || dir.path.contains(".xctest/") {
            while dir.pathExtension != "xctest" && dir.path != "/" { dir.deleteLastPathComponent() }
            dir.deleteLastPathComponent()
        }
        let candidates = [dir.appendingPathComponent("ocrtune"), root.appendingPathComponent(".build/debug/ocrtune")]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            XCTFail("no ocrtune binary next to the tests (\(candidates.map(\.path))): build it with `swift build --product ocrtune` (make test does)")
            throw XCTSkip("no binary")
        }
        return found
    }
}
