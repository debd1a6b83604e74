// Options shared by commands that run the engine.

import ArgumentParser
import Foundation
import Logging
import MLXEngine

/// `--device` and `--verbose`, applied before a command runs.
struct EngineOptions: ParsableArguments {
    @Option(help: "Compute device: cpu, or gpu where the installed MLX build has one (CUDA or Metal).")
    var device: Device = .cpu

    @Flag(name: .shortAndLong, help: "Log debug details.")
    var verbose = false

    /// Sets the default device and bootstraps logging; returns the CLI's logger.
    func apply(label: String) throws -> Logger {
        LoggingSystem.bootstrapOnce(level: verbose ? .debug : .info)
        do {
            try Device.setDefault(device)
        } catch {
            throw CLIError("--device \(device): \((error as? EngineError)?.message ?? "\(error)")")
        }
        return Logger(label: "ocrtune.\(label)")
    }
}

extension Device: ExpressibleByArgument {}

/// An error printed as one line, without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension LoggingSystem {
    private static let once: Void = ()
    nonisolated(unsafe) private static var bootstrapped = false

    /// Logs go to standard error, so command output on standard output stays clean.
    static func bootstrapOnce(level: Logger.Level) {
        guard !bootstrapped else { return }
        bootstrapped = true
        bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
