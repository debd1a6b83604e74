// Terminal output: a progress line that redraws on a TTY and prints plain lines otherwise.

import Foundation

enum Terminal {
    static let isInteractive = isatty(STDOUT_FILENO) == 1

    static func line(_ text: String) {
        print(text)
        fflush(stdout)
    }
}

/// Step progress with rate and ETA. On a terminal one line is redrawn in place; in logs
/// (not a TTY) a plain line is printed every `plainEvery` steps and at the end.
final class ProgressLine {
    let total: Int
    let label: String
    let plainEvery: Int
    private let start = Date()

    init(total: Int, label: String, plainEvery: Int = 10) {
        self.total = total
        self.label = label
        self.plainEvery = plainEvery
    }

    func update(step: Int, _ detail: String) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(step) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - step) / rate : 0
        let width = 24
        let filled = total > 0 ? width * step / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let text = String(format: "%@ %@ %d/%d  %@  %.1f steps/s  ETA %@", label, bar, step, total, detail, rate, Self.clock(eta))
        if Terminal.isInteractive {
            print("\r\u{1B}[2K" + text, terminator: step == total ? "\n" : "")
            fflush(stdout)
        } else if step % plainEvery == 0 || step == total {
            Terminal.line(text)
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
