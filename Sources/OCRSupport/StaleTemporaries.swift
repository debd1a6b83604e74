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

    /// Removes the entries of `directory` named `prefix` + a process id (+ `-` and anything) whose
    /// process is no longer running: what SIGKILL or a power cut left of a write that never
    /// finished. Names without a process id and live writers' entries are left alone. Returns
    /// the names removed.
    @discardableResult
    public static func remove(in directory: String, prefix: String) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = Int32(rest.prefix { $0 != "-" }), !isRunning(pid) else { continue }
            if (try? fm.removeItem(atPath: (directory as NSString).appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed.sorted()
    }
}
