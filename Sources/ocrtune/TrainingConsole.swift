// Terminal side of a training run: progress line, evaluation lines, and SIGINT/SIGTERM
// handling that finishes the current step, writes a checkpoint and prints the resume command.

import Dispatch
import Foundation
import OCRTraining

final class TrainingConsole {
    private let progress: ProgressLine
    private var signalSources: [DispatchSourceSignal] = []
    private let stopRequested = ManagedAtomicFlag()
    private(set) var lastCheckpoint: String?
    /// Data-parallel ranks other than 0 print nothing.
    private let quiet: Bool

    init(totalSteps: Int, quiet: Bool = false) {
        self.quiet = quiet
        progress = ProgressLine(total: totalSteps, label: "train", plainEvery: max(1, min(50, totalSteps / 20)))
    }

    /// From now on SIGINT and SIGTERM ask the trainer to stop after the current step.
    func catchSignals() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [stopRequested] in
                if stopRequested.set() {
                    FileHandle.standardError.write(Data("\nstopping after this step and writing a checkpoint (press again to abort)\n".utf8))
                } else {
                    exit(130)
                }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// The trainer's progress callback.
    func handle(_ p: TrainingProgress) -> TrainingControl {
        if quiet { return stopRequested.isSet ? .stop : .proceed }
        switch p.event {
        case .step:
            progress.update(step: p.step, String(format: "loss %.4f  lr %.2e  %.1f samples/s", p.loss, p.learningRate, p.samplesPerSecond))
        case .evaluation:
            let metrics = p.metrics.keys.sorted().map { String(format: "%@ %.4f", $0, p.metrics[$0]!) }.joined(separator: "  ")
            Terminal.line("\n[step \(p.step)] eval: \(metrics)")
        case .checkpoint:
            lastCheckpoint = p.checkpoint
        }
        return stopRequested.isSet ? .stop : .proceed
    }

    /// What to tell the user when the run stopped before its end.
    func resumeHint(arguments: [String]) -> String {
        "stopped; checkpoint \(lastCheckpoint ?? "(none)"). Resume with:\n  \(resumeCommand(arguments))"
    }
}

/// `ocrtune ARGUMENTS --resume` as a shell line (`train` after Ctrl-C, and `launch -- train`).
func resumeCommand(_ arguments: [String]) -> String {
    (["ocrtune"] + arguments.filter { $0 != "--resume" } + ["--resume"])
        .map { $0.contains(" ") ? shellQuoted($0) : $0 }.joined(separator: " ")
}

/// A flag set from a signal handler's queue and read by the training loop.
final class ManagedAtomicFlag: @unchecked Sendable {
    private var value = false
    private let lock = NSLock()

    /// Sets the flag; returns true if it was not set before.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let first = !value
        value = true
        return first
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
