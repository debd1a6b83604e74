// What a streamed answer may send as it grows: the text before a stop sequence, holding back a
// tail that may still become one and a character whose bytes are not all generated yet.

import Foundation

/// The part of a growing answer that can be sent: text before a stop sequence, holding back a
/// tail that may still become one, and a trailing U+FFFD (a character whose bytes are not all
/// generated yet). Compared by Unicode scalars, so deltas concatenate to the sent text exactly.
struct StreamedText {
    let stops: [String]
    private(set) var emitted = ""

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// `text` cut before the earliest stop sequence, and whether one occurred.
    func cut(_ text: String) -> (text: String, stopped: Bool) {
        var earliest: String.Index?
        for stop in stops {
            if let r = text.range(of: stop), earliest.map({ r.lowerBound < $0 }) ?? true { earliest = r.lowerBound }
        }
        guard let earliest else { return (text, false) }
        return (String(text[..<earliest]), true)
    }

    /// The new text to send given the whole decoded answer so far.
    mutating func advance(_ full: String, final: Bool) -> (delta: String, stopped: Bool) {
        var (safe, stopped) = cut(full)
        if !stopped && !final {
            while safe.unicodeScalars.last == "\u{FFFD}" { safe.unicodeScalars.removeLast() }
            var hold = 0
            for stop in stops {
                for k in stride(from: min(stop.count - 1, safe.count), to: 0, by: -1) where safe.hasSuffix(stop.prefix(k)) {
                    hold = max(hold, k)
                    break
                }
            }
            safe = String(safe.dropLast(hold))
        }
        let sent = emitted.unicodeScalars
        let now = safe.unicodeScalars
        guard now.starts(with: sent) else { return ("", stopped) }
        let delta = String(String.UnicodeScalarView(now.dropFirst(sent.count)))
        emitted = safe
        return (delta, stopped)
    }

    /// The whole answer: `full` cut before a stop sequence.
    func final(_ full: String) -> String { cut(full).text }
}
