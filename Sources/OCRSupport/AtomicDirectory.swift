// Writing a folder so that it is either complete or absent.

import Foundation

public enum AtomicDirectory {
    /// Runs `body` on a fresh temporary folder beside `path`, then renames it to `path`. An
    /// existing folder is moved aside first and deleted only once the new one is in place. On
    /// failure the temporary folder is removed and nothing at `path` changes, so a half-written
    /// output never looks complete. Temporary folders of writers killed before they finished
    /// (`.NAME.tmp-PID-…` whose process is gone) are removed.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        // A killed writer's temporary folder (named with its process id) is removed first.
        let prefix = ".\(target.lastPathComponent).tmp-"
        StaleTemporaries.remove(in: parent.path, prefix: prefix)
        let temporary = parent.appendingPathComponent(StaleTemporaries.name(prefix: prefix, suffix: String(UUID().uuidString.prefix(8))))
        try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        do {
            try body(temporary.path)
            if fm.fileExists(atPath: target.path) {
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(UUID().uuidString.prefix(8))")
                try fm.moveItem(at: target, to: old)
                try fm.moveItem(at: temporary, to: target)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: temporary, to: target)
            }
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
    }
}
