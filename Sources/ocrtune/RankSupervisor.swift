// The processes of a data-parallel run started by `ocrtune launch`: each rank's output prefixed
// with its rank, and one rank's failure ending the others (never a hang).
// Reference: mlx.launch (python/mlx/_distributed_utils/launch.py in MLX 0.32): the environment it
// gives each rank and its stop-everything-when-one-fails policy.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One rank to start: the program and arguments (a local binary or `ssh`) and its environment.
struct RankCommand {
    let rank: Int
    let executable: URL
    let arguments: [String]
    let environment: [String: String]
}

/// How a launch ended.
enum LaunchOutcome: Equatable {
    case succeeded
    /// `rank` ended with `status` (or signal) and the others were stopped.
    case failed(rank: Int, reason: String)
    /// Some rank was still running `seconds` after another finished, or after the run's limit.
    case timedOut(reason: String)
}

final class RankSupervisor {
    private let commands: [RankCommand]
    private var processes: [Process] = []
    private var buffers: [Int: Data] = [:]
    private let outputLock = NSLock()
    /// When each rank ended (the first to fail is the one to name).
    private var endings: [Int: Date] = [:]
    private let endingsLock = NSLock()
    /// Seconds the other ranks may still run once one has finished successfully.
    var exitGrace: TimeInterval = 60
    /// Seconds the whole run may take (nil: no limit).
    var limit: TimeInterval?

    init(_ commands: [RankCommand]) {
        self.commands = commands
    }

    // MARK: Output

    /// Writes complete lines of `data` from `rank` with a "[rank R] " prefix (progress lines ending
    /// in a carriage return count as lines too).
    private func emit(_ data: Data, rank: Int, stream: Int, flush: Bool = false) {
        outputLock.lock()
        defer { outputLock.unlock() }
        let key = rank * 2 + stream
        var pending = (buffers[key] ?? Data()) + data
        var out = Data()
        let prefix = Data("[rank \(rank)] ".utf8)
        while let end = pending.firstIndex(where: { $0 == 10 || $0 == 13 }) {
            out += prefix + pending[pending.startIndex ... end]
            pending = Data(pending[(end + 1)...])
        }
        if flush, !pending.isEmpty {
            out += prefix + pending + Data("\n".utf8)
            pending = Data()
        }
        buffers[key] = pending
        if !out.isEmpty { (stream == 0 ? FileHandle.standardOutput : FileHandle.standardError).write(out) }
    }

    // MARK: Run

    /// Starts every rank and waits: all succeed, or the first failure (or timeout) stops the rest.
    func run() throws -> LaunchOutcome {
        for command in commands {
            let p = Process()
            p.executableURL = command.executable
            p.arguments = command.arguments
            p.environment = command.environment
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            let rank = command.rank
            p.terminationHandler = { [weak self] _ in self?.ended(rank) }
            out.fileHandleForReading.readabilityHandler = { [weak self] h in
                self?.emit(h.availableData, rank: rank, stream: 0)
            }
            err.fileHandleForReading.readabilityHandler = { [weak self] h in
                self?.emit(h.availableData, rank: rank, stream: 1)
            }
            do {
                try p.run()
            } catch {
                stopAll()
                throw CLIError("could not start rank \(rank) (\(command.executable.path)): \(error.localizedDescription)")
            }
            processes.append(p)
        }
        let outcome = supervise()
        for p in processes { p.waitUntilExit() }
        // Let the readers drain what the ranks wrote last.
        Thread.sleep(forTimeInterval: 0.2)
        for (i, p) in processes.enumerated() {
            for (stream, pipe) in [p.standardOutput, p.standardError].compactMap({ $0 as? Pipe }).enumerated() {
                pipe.fileHandleForReading.readabilityHandler = nil
                emit(pipe.fileHandleForReading.readDataToEndOfFile(), rank: commands[i].rank, stream: stream, flush: true)
            }
        }
        return outcome
    }

    private func ended(_ rank: Int) {
        endingsLock.lock()
        endings[rank] = Date()
        endingsLock.unlock()
    }

    /// How process `i` ended, in words; nil when it succeeded.
    private func failure(_ i: Int) -> String? {
        let p = processes[i]
        if p.terminationReason == .exit && p.terminationStatus == 0 { return nil }
        return p.terminationReason == .uncaughtSignal ? "was killed by signal \(p.terminationStatus)" : "exited with status \(p.terminationStatus)"
    }

    /// Polls the ranks until all ended, one failed, or a time limit passed.
    private func supervise() -> LaunchOutcome {
        let start = Date()
        var firstSuccess: Date?
        while true {
            let exited = processes.indices.filter { !processes[$0].isRunning }
            if exited.contains(where: { failure($0) != nil }) {
                // The peers of a dead rank fail soon after it: name the one that ended first.
                Thread.sleep(forTimeInterval: 0.3)
                endingsLock.lock()
                let times = endings
                endingsLock.unlock()
                let failed = processes.indices.filter { !processes[$0].isRunning && failure($0) != nil }
                let first = failed.min { (times[commands[$0].rank] ?? .distantFuture) < (times[commands[$1].rank] ?? .distantFuture) }!
                stopAll()
                return .failed(rank: commands[first].rank, reason: failure(first)!)
            }
            if !exited.isEmpty, firstSuccess == nil { firstSuccess = Date() }
            if processes.allSatisfy({ !$0.isRunning }) { return .succeeded }
            if let firstSuccess, Date().timeIntervalSince(firstSuccess) > exitGrace {
                stopAll()
                let late = processes.indices.filter { processes[$0].isRunning }.map { "\(commands[$0].rank)" }
                return .timedOut(reason: "rank(s) \(late.joined(separator: ", ")) still running \(Int(exitGrace)) s after another rank finished")
            }
            if let limit, Date().timeIntervalSince(start) > limit {
                stopAll()
                return .timedOut(reason: "the run took longer than --timeout \(Int(limit)) s")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// SIGTERM to every running rank, SIGKILL to those still running 5 s later.
    func stopAll() {
        for p in processes where p.isRunning { p.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, processes.contains(where: \.isRunning) { Thread.sleep(forTimeInterval: 0.05) }
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    /// Set once a stop was asked for (Ctrl-C, SIGTERM).
    private(set) var interrupted = false

    /// Sends `signal` to every running rank (Ctrl-C: each rank stops after an agreed step).
    func forward(_ signal: Int32) {
        interrupted = true
        for p in processes where p.isRunning { kill(p.processIdentifier, signal) }
    }
}

// MARK: - Ports

/// `count` distinct TCP ports free on 127.0.0.1 now (each bound to port 0, read back and released).
func freeLoopbackPorts(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { for s in sockets { close(s) } }
    var ports: [Int] = []
    for _ in 0 ..< count {
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { throw CLIError("launch: cannot open a socket to find a free port") }
        sockets.append(s)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
        }
        guard bound else { throw CLIError("launch: cannot bind a socket on 127.0.0.1") }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}
