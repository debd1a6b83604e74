// Visual (left-to-right pixel) order of text for CTC recognizers.
//
// A CTC recognizer emits characters in the order they appear across the image, left to
// right. Right-to-left scripts (Arabic, Persian, Hebrew) are stored in logical order, which is
// the reverse, so their training labels must be reordered to visual order and their outputs
// back to logical order — PaddleOCR does the same for its Arabic models (label and prediction
// reversal). This is the part of the Unicode bidi algorithm that single lines need: runs of
// right-to-left characters are reversed, runs of left-to-right ones (Latin, digits) keep their
// order, and the order of the runs is reversed when the line starts right-to-left.

import Foundation

public enum VisualOrder {
    enum Direction { case rtl, ltr, neutral }

    static func direction(_ s: Unicode.Scalar) -> Direction {
        switch s.value {
        case 0x0590 ... 0x08FF, 0xFB1D ... 0xFDFF, 0xFE70 ... 0xFEFF, 0x10800 ... 0x10FFF, 0x1E800 ... 0x1EFFF:
            // Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic presentation forms...
            // Arabic-Indic digits (U+0660–0669, U+06F0–06F9) run left to right like other digits.
            if (0x0660 ... 0x0669).contains(s.value) || (0x06F0 ... 0x06F9).contains(s.value) { return .ltr }
            return .rtl
        case 0x200C, 0x200D:  // ZWNJ, ZWJ: part of the word they sit in
            return .neutral
        default:
            if s.properties.isAlphabetic || s.properties.numericType != nil { return .ltr }
            return .neutral
        }
    }

    /// Whether `text` contains right-to-left characters (then its visual order differs).
    public static func hasRightToLeft(_ text: String) -> Bool {
        text.unicodeScalars.contains { direction($0) == .rtl }
    }

    /// The base direction of logical text (Unicode bidi rule P2): its first strong character.
    public static func isRightToLeftParagraph(logical text: String) -> Bool {
        text.unicodeScalars.first { direction($0) != .neutral }.map { direction($0) == .rtl } ?? false
    }

    /// The base direction of visual-order text (a recognizer's output, where "first" has no
    /// meaning): right to left when most strong characters are.
    public static func isRightToLeftParagraph(visual text: String) -> Bool {
        var rtl = 0
        var ltr = 0
        for s in text.unicodeScalars {
            switch direction(s) {
            case .rtl: rtl += 1
            case .ltr: ltr += 1
            case .neutral: break
            }
        }
        return rtl > ltr
    }

    /// Logical → visual order of a line whose base direction is right to left (`rightToLeft`,
    /// by default from its first strong character), and, being its own inverse, visual →
    /// logical. In a right-to-left line the order of the runs is reversed; in any line the
    /// characters of right-to-left runs are. Text without right-to-left characters is unchanged.
    public static func reordered(_ text: String, rightToLeft: Bool? = nil) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { direction($0) == .rtl }) else { return text }
        let baseRTL = rightToLeft ?? isRightToLeftParagraph(logical: text)
        // Runs: maximal sequences of one strong direction; neutrals join the run around them
        // when both sides agree, else they belong to the line's base direction (right-to-left).
        var runs: [(ltr: Bool, scalars: [Unicode.Scalar])] = []
        var i = 0
        while i < scalars.count {
            let d = direction(scalars[i])
            if d == .ltr {
                var j = i
                // Extend over neutrals only if another LTR character follows them.
                while j < scalars.count {
                    if direction(scalars[j]) == .ltr { j += 1; continue }
                    var k = j
                    while k < scalars.count, direction(scalars[k]) == .neutral { k += 1 }
                    if k < scalars.count, direction(scalars[k]) == .ltr, k > j { j = k } else { break }
                }
                runs.append((true, Array(scalars[i ..< j])))
                i = j
            } else if d == .rtl || baseRTL {
                var j = i
                while j < scalars.count, direction(scalars[j]) != .ltr { j += 1 }
                // In a left-to-right line, neutrals after the last RTL letter belong to the line.
                if !baseRTL { while j > i + 1, direction(scalars[j - 1]) == .neutral { j -= 1 } }
                runs.append((false, Array(scalars[i ..< j])))
                i = j
            } else {
                // A neutral in a left-to-right line.
                runs.append((true, [scalars[i]]))
                i += 1
            }
        }
        var out = String.UnicodeScalarView()
        for run in baseRTL ? Array(runs.reversed()) : runs {
            out.append(contentsOf: run.ltr ? run.scalars : run.scalars.reversed())
        }
        return String(out)
    }
}
