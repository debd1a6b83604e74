// Writing a folder so that it is either complete or absent, and a replaced folder is never lost.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicDirectory {
    /// Runs `body` on a fresh temporary folder beside `path`, then puts it at `path`. On failure
    /// the temporary folder is removed and nothing at `path` changes, so a half-written output
    /// never looks complete.
    ///
    /// An existing folder is replaced in one step where the system allows it (Linux's
    /// `renameat2(RENAME_EXCHANGE)` swaps the two names atomically; the old folder then sits
    /// under the temporary name until it is deleted). Elsewhere it is first renamed aside to
    /// `.NAME.old-PID-…` and deleted once the new one is in place; a writer killed between those
    /// two renames leaves no `NAME`, and the next `write` (or `recover`) renames the old folder back.
    /// Temporary folders of writers killed before they finished (`.NAME.tmp-PID-…` whose process
    /// is gone) are removed.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        recover(target.path)
        let prefix = temporaryPrefix(target.lastPathComponent)
        let temporary = parent.appendingPathComponent(StaleTemporaries.name(prefix: prefix, suffix: suffix()))
        try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        do {
            try body(temporary.path)
            try install(temporary.path, at: target.path)
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
    }

    /// Repairs what a killed writer left beside `path`: if `path` is missing and a dead writer's
    /// `.NAME.old-PID-…` (the previous folder, moved aside) is there, it is renamed back to `path`;
    /// other dead writers' `.NAME.old-…` and `.NAME.tmp-…` entries are removed. Entries of running
    /// writers are left alone. Returns whether the previous folder was restored.
    @discardableResult
    public static func recover(_ path: String) -> Bool {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let parent = target.deletingLastPathComponent().path
        let name = target.lastPathComponent
        StaleTemporaries.remove(in: parent, prefix: temporaryPrefix(name))
        var restored = false
        if !fm.fileExists(atPath: target.path) {
            // At most one old folder per dead writer; the most recently modified is the latest.
            let candidates = StaleTemporaries.dead(in: parent, prefix: asidePrefix(name)).compactMap { entry -> (String, Date)? in
                let full = (parent as NSString).appendingPathComponent(entry)
                let date = (try? fm.attributesOfItem(atPath: full)[.modificationDate] as? Date) ?? .distantPast
                return (full, date)
            }
            if let latest = candidates.max(by: { $0.1 < $1.1 }) {
                restored = rename(latest.0, target.path) == 0
            }
        }
        StaleTemporaries.remove(in: parent, prefix: asidePrefix(name))
        return restored
    }

    // MARK: Replacing

    /// Linux's RENAME_EXCHANGE flag of renameat2(2).
    private static let renameExchange: UInt32 = 1 << 1

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// glibc's renameat2 (2.28+), looked up at run time: Swift's Glibc module does not declare it.
    private static let renameat2: RenameAt2? = {
        #if os(Linux)
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
        #else
        return nil
        #endif
    }()

    /// Test hooks: `allowExchange = false` forces the two-rename path, as on systems without an
    /// atomic exchange; `betweenRenames` runs after the old folder was moved aside, where a kill lands.
    nonisolated(unsafe) static var allowExchange = true
    nonisolated(unsafe) static var betweenRenames: (() -> Void)?

    /// Puts the finished folder `temporary` (a sibling of `path`) at `path`, replacing what is
    /// there as `write` does. On a thrown error `path` is unchanged and `temporary` is left to the caller.
    public static func install(_ temporary: String, at path: String) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let temporary = URL(fileURLWithPath: temporary).standardizedFileURL
        guard fm.fileExists(atPath: target.path) else { return try fm.moveItem(at: temporary, to: target) }
        if allowExchange, let exchange = renameat2 {
            if exchange(AT_FDCWD, temporary.path, AT_FDCWD, target.path, renameExchange) == 0 {
                try? fm.removeItem(at: temporary)  // now the old folder; a kill here leaves a dead writer's temporary
                return
            }
            // EINVAL / ENOSYS / ENOTSUP: a file system or kernel without the exchange; other errors are real.
            guard [EINVAL, ENOSYS, ENOTSUP].contains(errno) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path,
                                                               NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)])
            }
        }
        let aside = target.deletingLastPathComponent().appendingPathComponent(StaleTemporaries.name(prefix: asidePrefix(target.lastPathComponent), suffix: suffix()))
        try fm.moveItem(at: target, to: aside)
        betweenRenames?()
        do {
            try fm.moveItem(at: temporary, to: target)
        } catch {
            try? fm.moveItem(at: aside, to: target)
            throw error
        }
        try? fm.removeItem(at: aside)
    }

    // MARK: Names

    static func temporaryPrefix(_ name: String) -> String { ".\(name).tmp-" }
    static func asidePrefix(_ name: String) -> String { ".\(name).old-" }
    private static func suffix() -> String { String(UUID().uuidString.prefix(8)) }
}
