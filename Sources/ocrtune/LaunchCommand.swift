// `ocrtune launch`: start the ranks of a data-parallel run with the environment MLX's distributed
// backends read (MLX_RANK, MLX_HOSTFILE), locally or over ssh.
// Reference: mlx.launch (MLX 0.32, python/mlx/_distributed_utils/launch.py): the ring hostfile is
// a JSON list with one list of "ip:port" strings per rank, written to a file named by MLX_HOSTFILE.

import ArgumentParser
import Dispatch
import Foundation
import MLXEngine

struct LaunchCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Run an ocrtune command data-parallel on several processes or machines.",
        discussion: """
            Starts N ranks of `ocrtune COMMAND ...` with MLX_RANK, MLX_HOSTFILE
            (MLX's JSON format) and OCRTUNE_DISTRIBUTED_BACKEND set. Each `train`
            rank takes its part of every batch (the one-process order: results do
            not depend on N), gradients are summed over the ranks, and rank 0 alone
            prints and writes the run folder. Output lines carry their rank. When a
            rank fails, the others are stopped and launch exits with an error; once
            one finishes, the others must finish within --exit-grace seconds.
            Ctrl-C stops every rank after the same step with a checkpoint (resume
            with the same N and --resume).

            Local ranks talk over 127.0.0.1 on free ports (ring backend). For
            several machines, --hosts names a JSON file in mlx.launch's format,
            one rank per entry, started with `ssh HOST` in the current directory
            (OCRTUNE_SSH names another ssh program):
              [{"ssh": "user@m1", "ips": ["10.0.0.1"]},
               {"ssh": "m2", "ips": ["10.0.0.2"]}]
            Model, data and run folders must be at the same paths on every
            machine (resuming reads rank 0's checkpoints: use a shared file system).

            Examples:
              ocrtune launch -n 2 -- train --model models/ppocrv5 \\
                  --data data/fa --out runs/fa
              ocrtune launch -n 4 --timeout 7200 -- train --model M --data D \\
                  --out runs/x --batch-size 64 --grad-accum 2
              ocrtune launch --hosts hosts.json -- train --model M --data D \\
                  --out /shared/runs/x
              mlx.launch -n 2 --backend ring -- ocrtune train ...   (also works)
            """)

    @Option(name: [.customShort("n"), .long], help: "Local ranks (processes) to start.") var ranks: Int?
    @Option(help: "JSON file of hosts (mlx.launch's format): one rank per host, started over ssh.") var hosts: String?
    @Option(help: "Communication backend: ring (TCP), any, mpi or nccl (when the engine has them).")
    var backend: DistributedBackend = .ring
    @Option(help: "First TCP port of the ring on --hosts machines (local ranks use free ports).") var startingPort = 32323
    @Option(help: "The ocrtune binary on the remote hosts.") var remoteBinary = "ocrtune"
    @Option(help: "Seconds the other ranks may run after one has finished.") var exitGrace: Double = 60
    @Option(help: "Seconds the whole run may take (0: no limit).") var timeout: Double = 0
    @Flag(help: "Print each rank's command (and the variables launch sets) instead of running them.") var dryRun = false
    @Argument(parsing: .postTerminator, help: "The ocrtune command each rank runs, after --.") var command: [String] = []

    func validate() throws {
        if (ranks == nil) == (hosts == nil) { throw ValidationError("name either -n N (local ranks) or --hosts FILE") }
        if let ranks, ranks < 1 { throw ValidationError("-n \(ranks): expected at least 1 rank") }
        if arguments.isEmpty { throw ValidationError("name the command the ranks run after --, e.g. -- train --model M ...") }
    }

    /// The ranks' ocrtune arguments (without a leading --).
    var arguments: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

    func run() throws {
        if !backend.isAvailable { throw CLIError(DistributedError.backendUnavailable(backend.rawValue).description) }
        let commands = try hosts.map(remoteCommands) ?? localCommands(ranks ?? 1)
        if dryRun {
            let keys = ["MLX_RANK", "MLX_HOSTFILE", "OCRTUNE_DISTRIBUTED_BACKEND"]
            for c in commands {
                let set = keys.compactMap { k in c.environment[k].map { "\(k)=\(shellQuoted($0))" } }
                Terminal.line("rank \(c.rank): " + (set + [c.executable.path] + c.arguments.map(shellQuoted)).joined(separator: " "))
            }
            return
        }
        // The local ranks' hostfile goes with the run.
        defer { if hosts == nil, let file = commands.first?.environment["MLX_HOSTFILE"] { try? FileManager.default.removeItem(atPath: file) } }
        let supervisor = RankSupervisor(commands)
        supervisor.exitGrace = exitGrace
        supervisor.limit = timeout > 0 ? timeout : nil
        let signals = forwardSignals(to: supervisor)
        defer { signals.forEach { $0.cancel() } }
        let outcome = try supervisor.run()
        if supervisor.interrupted, outcome != .succeeded {
            Terminal.line("stopped on request; resume with the same number of ranks:\n  "
                + resumeCommand(Array(CommandLine.arguments.dropFirst())))
            throw ExitCode(130)
        }
        switch outcome {
        case .succeeded:
            return
        case .failed(let rank, let reason):
            throw CLIError("rank \(rank) \(reason); stopped the other ranks")
        case .timedOut(let reason):
            throw CLIError("\(reason); stopped the other ranks")
        }
    }

    /// Ctrl-C and SIGTERM go to every rank (each stops after the same step); a second one ends them.
    private func forwardSignals(to supervisor: RankSupervisor) -> [DispatchSourceSignal] {
        let first = ManagedAtomicFlag()
        return [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                supervisor.forward(first.set() ? SIGINT : SIGKILL)
            }
            source.resume()
            return source
        }
    }

    // MARK: Rank commands

    /// N ranks of this binary on 127.0.0.1, one free port each (one rank: a plain process).
    func localCommands(_ n: Int) throws -> [RankCommand] {
        let binary = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        if n == 1 { return [RankCommand(rank: 0, executable: binary, arguments: arguments, environment: ProcessInfo.processInfo.environment)] }
        let ports = try freeLoopbackPorts(n)
        let hostfile = try writeHostfile(ports.map { ["127.0.0.1:\($0)"] })
        let base = ProcessInfo.processInfo.environment
        return (0 ..< n).map { rank in
            var environment = base
            environment["MLX_RANK"] = "\(rank)"
            environment["MLX_HOSTFILE"] = hostfile
            environment["OCRTUNE_DISTRIBUTED_BACKEND"] = backend.rawValue
            return RankCommand(rank: rank, executable: binary, arguments: arguments, environment: environment)
        }
    }

    /// One rank per host of `file`, started over ssh in the current directory.
    func remoteCommands(_ file: String) throws -> [RankCommand] {
        let hostList = try LaunchHosts.read(file)
        var port = startingPort
        let ring = hostList.map { host in
            host.ips.map { ip -> String in
                defer { port += 1 }
                return "\(ip):\(port)"
            }
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ring), as: UTF8.self)
        let cwd = FileManager.default.currentDirectoryPath
        let ssh = URL(fileURLWithPath: ProcessInfo.processInfo.environment["OCRTUNE_SSH"] ?? "/usr/bin/ssh")
        return hostList.enumerated().map { rank, host in
            let script = [
                "cd \(shellQuoted(cwd)) || exit 1;", "f=$(mktemp);", "printf %s \(shellQuoted(json)) > \"$f\";",
                "export MLX_RANK=\(rank) MLX_HOSTFILE=\"$f\" OCRTUNE_DISTRIBUTED_BACKEND=\(backend.rawValue);",
                "exec \(shellQuoted(remoteBinary)) \(arguments.map(shellQuoted).joined(separator: " "))",
            ].joined(separator: " ")
            return RankCommand(
                rank: rank, executable: ssh, arguments: ["-o", "BatchMode=yes", host.ssh, "bash -c \(shellQuoted(script))"],
                environment: ProcessInfo.processInfo.environment)
        }
    }

    /// Writes the ring hostfile to a temporary file and returns its path.
    func writeHostfile(_ ring: [[String]]) throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("ocrtune-hosts-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: ring).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// `s` quoted for a POSIX shell.
func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// An entry of a --hosts file (mlx.launch's format).
struct LaunchHosts: Decodable {
    let ssh: String
    let ips: [String]

    static func read(_ file: String) throws -> [LaunchHosts] {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("--hosts \(file): cannot read the file") }
        let hosts: [LaunchHosts]
        do {
            hosts = try JSONDecoder().decode([LaunchHosts].self, from: data)
        } catch {
            throw CLIError("--hosts \(file): expected a JSON list of {\"ssh\": HOST, \"ips\": [IP, ...]} (\(error.localizedDescription))")
        }
        guard hosts.count >= 1 else { throw CLIError("--hosts \(file): no host listed") }
        if let bad = hosts.firstIndex(where: { $0.ips.isEmpty }) {
            throw CLIError("--hosts \(file): host \(bad) (\(hosts[bad].ssh)) lists no IP; the ring backend needs the address the others reach it at")
        }
        return hosts
    }
}

extension DistributedBackend: ExpressibleByArgument {}
