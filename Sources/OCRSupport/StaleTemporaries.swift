// What a killed writer leaves behind: temporary folders named after the writer's process id.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum StaleTemporaries {
    /// The name a writer gives its temporary entry: `prefix` + process id + `-` + `suffix`.
    public static func name(prefix: String, suffix: String) -> String { "\(prefix)\(getpid())-\(suffix)" }

    /// Whether process `pid` is running (EPERM: it runs under another user).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno != ESRCH
    }

    /// The entries of `directory` named `prefix` + a process id (+ `-` and anything) whose process
    /// is no longer running: what SIGKILL or a power cut left of a write that never finished.
    /// Names without a process id and live writers' entries are not listed.
    public static func dead(in directory: String, prefix: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { name in
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }) else { return false }
            return !isRunning(pid)
        }.sorted()
    }

    /// Removes the entries `dead(in:prefix:)` lists. Returns the names removed.
    @discardableResult
    public static func remove(in directory: String, prefix: String) -> [String] {
        dead(in: directory, prefix: prefix).filter { name in
            (try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))) != nil
        }
    }
}
